import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fieldDiff, isArchived, leavesOf, winnerOf, type LeafCandidate, type VersionLink } from '../../../src-server/store/merge';

/** A random version graph: version i names some of the versions before it as parents (none: a root). */
const graph = fc
  .array(fc.array(fc.nat(), { maxLength: 3 }), { minLength: 1, maxLength: 25 })
  .map((parentPicks): VersionLink[] =>
    parentPicks.map((picks, index) => ({
      versionId: `v${String(index).padStart(3, '0')}`,
      parents: index === 0 ? [] : [...new Set(picks.map((pick) => `v${String(pick % index).padStart(3, '0')}`))],
    })),
  );

const candidate = fc.record({
  versionId: fc.uuid(),
  archived: fc.boolean(),
  lastUpdated: fc.integer({ min: 0, max: 10 }).map((second) => `2026-11-26T10:00:${String(second).padStart(2, '0')}.000Z`),
});

describe('leavesOf', () => {
  it('is the same set whatever order the versions arrived in, and only versions nobody descends from', () => {
    fc.assert(
      fc.property(graph, fc.nat(), (versions, seed) => {
        const shuffled = [...versions].sort((a, b) => ((a.versionId.charCodeAt(3) * 31 + seed) % 7) - ((b.versionId.charCodeAt(3) * 31 + seed) % 7));
        const leaves = leavesOf(versions);
        expect(leavesOf(shuffled)).toEqual(leaves);
        const parents = new Set(versions.flatMap((version) => version.parents));
        for (const version of versions) expect(leaves.includes(version.versionId)).toBe(!parents.has(version.versionId));
        // The last version made is nobody's parent: there is always a leaf.
        expect(leaves.length).toBeGreaterThan(0);
      }),
    );
  });

  it('treats a version whose parents are unknown here as a leaf until a child names it', () => {
    expect(leavesOf([{ versionId: 'b', parents: ['a'] }])).toEqual(['b']);
    expect(leavesOf([{ versionId: 'b', parents: ['a'] }, { versionId: 'a', parents: [] }])).toEqual(['b']);
  });

  it('has one leaf once a version names every leaf as its parent (a resolution)', () => {
    fc.assert(
      fc.property(graph, (versions) => {
        const resolution = { versionId: 'resolution', parents: leavesOf(versions) };
        expect(leavesOf([...versions, resolution])).toEqual(['resolution']);
      }),
    );
  });
});

describe('winnerOf', () => {
  it('picks the same leaf in any order, a live one over any archived one', () => {
    fc.assert(
      fc.property(fc.array(candidate, { minLength: 1, maxLength: 8 }), (leaves) => {
        const winner = winnerOf(leaves);
        expect(winnerOf([...leaves].reverse())).toBe(winner);
        if (leaves.some((leaf) => !leaf.archived)) expect(winner.archived).toBe(false);
        const peers = leaves.filter((leaf: LeafCandidate) => leaf.archived === winner.archived);
        for (const other of peers) expect(other.lastUpdated <= winner.lastUpdated).toBe(true);
      }),
    );
  });

  it('breaks a tie of stamps by the greater version id', () => {
    const stamp = '2026-11-26T10:00:00.000Z';
    expect(winnerOf([{ versionId: 'a', archived: false, lastUpdated: stamp }, { versionId: 'b', archived: false, lastUpdated: stamp }]).versionId).toBe('b');
  });
});

describe('isArchived', () => {
  it('knows active=false and the archiving statuses', () => {
    expect(isArchived({ active: false })).toBe(true);
    expect(isArchived({ status: 'entered-in-error' })).toBe(true);
    expect(isArchived({ status: 'cancelled' })).toBe(true);
    expect(isArchived({ active: true, status: 'booked' })).toBe(false);
  });
});

describe('fieldDiff', () => {
  it('names the elements that differ, as deep as they differ, and nothing when the versions agree', () => {
    const a = { resourceType: 'Patient', meta: { versionId: '1' }, name: [{ family: 'Martin', given: ['Anne'] }], gender: 'female' };
    const b = { resourceType: 'Patient', meta: { versionId: '2' }, name: [{ family: 'Martin', given: ['Anna'] }], birthDate: '1980-02-29', gender: 'female' };
    expect(fieldDiff({ a, b })).toEqual([
      { path: 'birthDate', values: { a: undefined, b: '1980-02-29' } },
      { path: 'name[0].given[0]', values: { a: 'Anne', b: 'Anna' } },
    ]);
    fc.assert(fc.property(fc.jsonValue(), (value) => fieldDiff({ x: value, y: structuredClone(value) }).length === 0));
  });
});
