import { forbidden } from '../fhir/outcome';
import type { FhirOperation } from '../rest/extensions';
import { qualified } from '../store/search/conditions';
import { DATE_MIN } from '../fhir/search/index-values';
import type { Db } from '../store/database';
import { decodeCursor, encodeCursor, pageBundle } from './paging';
import { readPageCount } from '../rest/paging-parameters';
import { compartmentSelects, patientOperation, requestedTypes, ROW, storedOf, type VersionRow } from './patient-compartment';

/**
 * `GET Patient/<id>/$care-pathway`: the patient's care pathway — its Encounters (stays, consultations) and
 * EpisodesOfCare together — newest first by the start of their `period` (the `date` parameter of both types),
 * ties by write order, newest first; those without a start come last. Paged by a keyset cursor (start, vseq);
 * `_type` keeps one of the two types. Only the types the caller may read, and what its access rules let it see.
 */

const PATHWAY_TYPES = ['Encounter', 'EpisodeOfCare'];

interface Row extends VersionRow {
  start: number;
}

export function carePathwayOperation(db: Db): FhirOperation {
  return patientOperation('$care-pathway', db, ({ request, base, id }, compartment, prepare) => {
    const { query, scopes } = request;
    const count = readPageCount(query.get('_count'));
    const cursor = decodeCursor(query.get('_cursor'), 2);
    const wanted = requestedTypes(query.get('_type'), PATHWAY_TYPES, 'Encounter or EpisodeOfCare');
    const types = wanted.filter((type) => scopes.allows(type, 'READ'));
    if (types.length === 0) throw forbidden(`This client lacks the scope ${wanted.map((type) => `${type.toUpperCase()}_READ`).join(' or ')}`);
    const { index } = compartment;
    // The start of the period: the smallest low bound of the `date` rows (the period's, for both types).
    const selects = types.flatMap((type) =>
      compartmentSelects(compartment, type, `, coalesce((SELECT min(d.low) FROM idx_date d WHERE d.vseq = ${ROW}.vseq AND ${index.rowsOf(type, 'date', qualified('d'))}), ${DATE_MIN}) AS start`),
    );
    const after = cursor ? { sql: 'WHERE c.start < ? OR (c.start = ? AND c.vseq < ?)', values: [cursor[0], cursor[0], cursor[1]] } : { sql: '', values: [] };
    // The page's keys first, then its bodies: sorting carries only (vseq, start), not every stored resource.
    const sql =
      `SELECT p.vseq, p.start, v.resource_type, v.resource_id, v.version_id, v.last_updated, v.body FROM (` +
      `SELECT c.vseq, c.start FROM (${selects.map((select) => select.sql).join(' UNION ')}) c ${after.sql} ORDER BY c.start DESC, c.vseq DESC LIMIT ?` +
      ') p JOIN resource_versions v ON v.vseq = p.vseq ORDER BY p.start DESC, p.vseq DESC';
    const rows = prepare(sql).all(...selects.flatMap((select) => select.values), ...after.values, count + 1) as Row[];
    const page = rows.slice(0, count);
    const last = page[page.length - 1];
    return {
      status: 200,
      headers: {},
      body: pageBundle(
        {
          url: `${base}/Patient/${id}/$care-pathway`,
          query,
          matches: page.map(storedOf),
          next: rows.length > count ? encodeCursor([last.start, last.vseq]) : undefined,
        },
        base,
      ),
    };
  });
}
