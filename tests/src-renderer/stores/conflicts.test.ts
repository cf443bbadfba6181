// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FhirApiError } from '../../../src-renderer/api/fhir-client';
import { conflictsOf, useConflictsStore, type EditConflict, type SyncConflict } from '../../../src-renderer/stores/conflicts';
import { FakeNode, loggedIn, outcome } from '../fake-node';
import { bookingConflictParameters, conflictParameters } from '../sync-fixtures';

let node: FakeNode;
beforeEach(async () => {
  node = new FakeNode().install();
  await loggedIn(node);
});
afterEach(() => vi.unstubAllGlobals());

/** An edit conflict, as these tests list only those. */
function edit(conflict: SyncConflict | undefined): EditConflict {
  expect(conflict?.kind).toBe('edit');
  return conflict as EditConflict;
}

describe('the conflicts store', () => {
  it('reads the node’s conflicts: target, winner, each version and the field-level diff', () => {
    const conflict = edit(conflictsOf(conflictParameters())[0]);
    expect(conflict).toMatchObject({ kind: 'edit', target: 'Patient/p1', resourceType: 'Patient', id: 'p1', opened: '2026-11-20T10:00:00Z', winner: 'v-b' });
    expect(conflict.leaves.map((leaf) => [leaf.versionId, leaf.archived])).toEqual([
      ['v-a', false],
      ['v-b', false],
    ]);
    expect(conflict.differences).toEqual([
      { path: 'name[0].family', values: { 'v-a': 'Dupont', 'v-b': 'Dupond' } },
      { path: 'telecom', values: { 'v-a': undefined, 'v-b': [{ system: 'phone', value: '0601020304' }] } },
    ]);
  });

  it('reads a booking conflict: both appointments with their times, status and patient, and the practitioner', () => {
    expect(conflictsOf(bookingConflictParameters())).toEqual([
      {
        kind: 'booking',
        target: 'booking/ap-1/ap-2/martin',
        opened: '2026-12-07T16:05:00Z',
        practitionerId: 'martin',
        appointments: [
          { id: 'ap-1', start: '2026-12-08T17:00:00Z', end: '2026-12-08T17:30:00Z', status: 'booked', patientId: 'dupont' },
          { id: 'ap-2', start: '2026-12-08T17:10:00Z', end: '2026-12-08T17:40:00Z', status: 'booked', patientId: 'durand' },
        ],
      },
    ]);
  });

  it('lists the conflicts as the user, pages on, and keeps a version naming every version seen', async () => {
    node.on('GET', /^\/fhir\/\$conflicts$/, { json: { ...conflictParameters(), parameter: [...conflictParameters().parameter, { name: 'next', valueString: 'http://node.test/fhir/$conflicts?cursor=Patient%2Fp1&_count=20' }] } });
    node.on('GET', /^\/fhir\/\$conflicts\?cursor=/, { json: conflictParameters('p2') });
    node.on('POST', /^\/fhir\/Patient\/p1\/\$resolve$/, (call) => ({ json: (call.body as { parameter: Array<{ resource?: unknown }> }).parameter[0].resource }));
    const conflicts = useConflictsStore();
    await conflicts.load();
    expect(node.calls.find((call) => call.url.pathname === '/fhir/$conflicts')?.headers.get('authorization')).toBe('Bearer user-token');
    expect(conflicts.state).toBe('ready');
    await conflicts.more();
    expect(conflicts.conflicts.map((conflict) => conflict.target)).toEqual(['Patient/p1', 'Patient/p2']);
    expect(conflicts.next).toBeUndefined();

    await conflicts.keep(edit(conflicts.conflicts[0]), 'v-a');
    const resolve = node.callsTo('POST', /\$resolve/)[0];
    expect(resolve.headers.get('content-type')).toBe('application/fhir+json');
    expect(resolve.body).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { name: 'resource', resource: edit(conflictsOf(conflictParameters())[0]).leaves[0].resource },
        { name: 'leaf', valueId: 'v-a' },
        { name: 'leaf', valueId: 'v-b' },
      ],
    });
    expect(conflicts.conflicts.map((conflict) => conflict.target)).toEqual(['Patient/p2']);
  });

  it('on 409 (the versions changed) passes the refusal on and shows the conflict as it now stands', async () => {
    node.on('GET', /^\/fhir\/\$conflicts$/, { json: conflictParameters() });
    node.on('POST', /^\/fhir\/Patient\/p1\/\$resolve$/, { status: 409, json: outcome('The conflict on Patient/p1 changed: its versions are now v-a, v-b, v-c') });
    const now = conflictParameters();
    now.parameter[0].part.push({ name: 'leaf', part: [{ name: 'versionId', valueId: 'v-c' }, { name: 'archived', valueBoolean: false }, { name: 'resource', resource: { resourceType: 'Patient', id: 'p1' } }] });
    node.on('GET', /^\/fhir\/Patient\/p1\/\$conflicts$/, { json: now });
    const conflicts = useConflictsStore();
    await conflicts.load();
    const refusal = conflicts.keep(edit(conflicts.conflicts[0]), 'v-b');
    await expect(refusal).rejects.toBeInstanceOf(FhirApiError);
    await expect(refusal).rejects.toMatchObject({ status: 409 });
    expect(edit(conflicts.conflicts[0]).leaves.map((leaf) => leaf.versionId)).toEqual(['v-a', 'v-b', 'v-c']);
  });

  it('is “unavailable” on a node without sync', async () => {
    const conflicts = useConflictsStore();
    await conflicts.load();
    expect(conflicts.state).toBe('unavailable');
  });
});
