import { forbidden } from '../fhir/outcome';
import type { FhirOperation, OperationDescription } from '../rest/extensions';
import { readPageCount } from '../rest/paging-parameters';
import type { PatientCompartment } from '../store/patient-compartment';
import { decodeCursor, encodeCursor, pageBundle } from './paging';
import { PAGED_RECORD, patientOperation, requestedTypes } from './patient-operation';

/**
 * `GET Patient/<id>/$care-pathway`: the patient's care pathway — its Encounters (stays, consultations) and
 * EpisodesOfCare together — newest first by the start of their `period` (the `date` parameter of both types),
 * ties by write order, newest first; those without a start come last. Paged by a keyset cursor (start, vseq);
 * `_type` keeps one of the two types. Only the types the caller may read, and what its access rules let it see.
 */

const PATHWAY_TYPES = ['Encounter', 'EpisodeOfCare'];

const CARE_PATHWAY: OperationDescription = {
  description: "The patient's care pathway: its Encounters and EpisodesOfCare, newest first by the start of their period (those without one last).",
  parameters: [{ name: '_type', use: 'in', min: 0, max: '1', type: 'string', documentation: 'Encounter or EpisodeOfCare only' }, ...PAGED_RECORD],
};

export function carePathwayOperation(compartment: PatientCompartment): FhirOperation {
  return patientOperation('$care-pathway', CARE_PATHWAY, ({ request, base, id, interactions }, reader) => {
    const { query, scopes } = request;
    const count = readPageCount(query.get('_count'));
    const cursor = decodeCursor(query.get('_cursor'), 2);
    const wanted = requestedTypes(query.get('_type'), PATHWAY_TYPES, 'Encounter or EpisodeOfCare');
    const types = wanted.filter((type) => scopes.allows(type, 'READ'));
    if (types.length === 0) {
      const scope = wanted.map((type) => `${type.toUpperCase()}_READ`).join(' or ');
      throw forbidden('scope-missing', `This client lacks the scope ${scope}`, undefined, { scope });
    }
    const rows = compartment.pathway({ ...reader, types, after: cursor && [cursor[0], cursor[1]], limit: count + 1 });
    const page = rows.slice(0, count);
    const last = page[page.length - 1];
    return {
      status: 200,
      headers: {},
      body: pageBundle(
        {
          url: `${base}/Patient/${id}/$care-pathway`,
          query,
          matches: page,
          next: rows.length > count ? encodeCursor([last.start, last.vseq]) : undefined,
        },
        base,
        interactions.repository,
      ),
    };
  });
}
