import { badRequest } from '../fhir/outcome';
import type { FhirOperation } from '../rest/extensions';
import { appointmentTypesId, appointmentTypesResource, DEFAULT_APPOINTMENT_TYPES } from './appointment-types';

/**
 * `GET CodeSystem/$appointment-types?practice=<Organization id>`: the practice's appointment types — its CodeSystem
 * as saved, or the default set (not stored, no id of its own yet) until an admin saves them. The agenda and Réglages
 * read them here rather than each keeping the defaults.
 */

const OPERATION = '$appointment-types';

export const appointmentTypesOperation: FhirOperation = {
  name: OPERATION,
  level: 'type',
  types: ['CodeSystem'],
  methods: ['GET'],
  definition: {
    description: "The practice's appointment types, each with its duration and colour: its CodeSystem as saved, or the default set until an admin saves it (docs/appointments.md).",
    parameters: [
      { name: 'practice', use: 'in', min: 1, max: '1', type: 'id', documentation: 'The practice (Organization id)' },
      { name: 'return', use: 'out', min: 1, max: '1', type: 'CodeSystem' },
    ],
  },
  run({ request, interactions }) {
    request.scopes.require('CodeSystem', 'READ');
    for (const name of request.query.keys()) {
      if (name !== 'practice' && !name.startsWith('_')) throw badRequest('operation-parameter-unknown', `Unknown parameter '${name}' of ${OPERATION}: it takes practice`, name);
    }
    const practices = request.query.getAll('practice');
    if (practices.length !== 1 || !/^[A-Za-z0-9\-.]{1,64}$/.test(practices[0])) throw badRequest('operation-parameter-missing', `${OPERATION} needs the parameter 'practice' once: an Organization id`, 'practice');
    const stored = interactions.repository.read('CodeSystem', appointmentTypesId(practices[0]));
    if (stored) return { status: 200, headers: {}, body: stored.json };
    const { id: _unsaved, ...defaults } = appointmentTypesResource(practices[0], DEFAULT_APPOINTMENT_TYPES);
    return { status: 200, headers: {}, body: defaults };
  },
};
