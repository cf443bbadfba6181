import type { Parameters, ParametersParameter, Resource } from '../../src-renderer/api/fhir-types';
import type { Peer } from '../../src-renderer/stores/peers';

/** What the node's sync APIs answer (docs/sync.md), for the peers and conflicts tests. */

export const PEER: Peer = {
  peerId: 'peer-1',
  name: 'Cabinet des Tilleuls',
  url: 'https://tilleuls.example:8347',
  kind: 'office',
  clientId: 'liaison-a',
  lastSyncAt: '2026-11-26T09:00:00Z',
  createdAt: '2026-11-01T08:00:00Z',
};

/** A `$conflicts` answer: Patient/<id> edited on two nodes (family name, and a phone added on one). */
export function conflictParameters(id = 'p1'): Parameters & { parameter: Array<ParametersParameter & { part: ParametersParameter[] }> } {
  const a = { resourceType: 'Patient', id, meta: { versionId: 'v-a', lastUpdated: '2026-11-20T09:58:00Z' }, name: [{ family: 'Dupont', given: ['Jeanne'] }] };
  const b = { resourceType: 'Patient', id, meta: { versionId: 'v-b', lastUpdated: '2026-11-20T09:59:00Z' }, name: [{ family: 'Dupond', given: ['Jeanne'] }], telecom: [{ system: 'phone', value: '0601020304' }] };
  const leaf = (versionId: string, resource: Resource) => ({ name: 'leaf', part: [{ name: 'versionId', valueId: versionId }, { name: 'archived', valueBoolean: false }, { name: 'resource', resource }] });
  const value = (versionId: string, json?: unknown) => ({ name: 'value', part: [{ name: 'versionId', valueId: versionId }, ...(json === undefined ? [] : [{ name: 'json', valueString: JSON.stringify(json) }])] });
  return {
    resourceType: 'Parameters',
    parameter: [
      {
        name: 'conflict',
        part: [
          { name: 'target', valueReference: { reference: `Patient/${id}` } },
          { name: 'opened', valueInstant: '2026-11-20T10:00:00Z' },
          { name: 'winner', valueId: 'v-b' },
          leaf('v-a', a),
          leaf('v-b', b),
          { name: 'difference', part: [{ name: 'path', valueString: 'name[0].family' }, value('v-a', 'Dupont'), value('v-b', 'Dupond')] },
          { name: 'difference', part: [{ name: 'path', valueString: 'telecom' }, value('v-a'), value('v-b', b.telecom)] },
        ],
      },
    ],
  };
}

/** A `$conflicts` answer with one booking conflict: Dr Martin booked 17:00–17:30Z (Dupont) and 17:10–17:40Z (Durand) on two nodes apart. */
export function bookingConflictParameters(): Parameters {
  const appointment = (id: string, start: string, end: string, patient: string) => ({
    name: 'appointment',
    part: [
      { name: 'target', valueReference: { reference: `Appointment/${id}` } },
      { name: 'start', valueInstant: start },
      { name: 'end', valueInstant: end },
      { name: 'status', valueCode: 'booked' },
      { name: 'patient', valueReference: { reference: `Patient/${patient}` } },
    ],
  });
  return {
    resourceType: 'Parameters',
    parameter: [
      {
        name: 'conflict',
        part: [
          { name: 'kind', valueCode: 'booking' },
          { name: 'target', valueReference: { reference: 'Appointment/ap-1' } },
          { name: 'target', valueReference: { reference: 'Appointment/ap-2' } },
          { name: 'opened', valueInstant: '2026-12-07T16:05:00Z' },
          { name: 'practitioner', valueReference: { reference: 'Practitioner/martin' } },
          appointment('ap-1', '2026-12-08T17:00:00Z', '2026-12-08T17:30:00Z', 'dupont'),
          appointment('ap-2', '2026-12-08T17:10:00Z', '2026-12-08T17:40:00Z', 'durand'),
        ],
      },
    ],
  };
}
