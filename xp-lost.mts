import { readFileSync } from 'node:fs';
import { compileFhirPath } from './src-server/fhir/search/fhirpath.ts';
import { branchesFor, extractSearchValues } from './src-server/fhir/search/extract.ts';
import { parametersOfType } from './src-server/fhir/search/parameters.ts';
const ex = readFileSync('../shared/fhir/stu3/examples-all.ndjson','utf8').split('\n').filter(Boolean).map(l=>JSON.parse(l));
const shown = new Set<string>();
for (const r of ex) {
  const got = new Map(extractSearchValues(r).map(p => [p.code, p]));
  for (const [code, def] of parametersOfType(r.resourceType)) {
    if (!def.expression || code === '_id' || code === '_lastUpdated' || def.type === 'composite') continue;
    const vals = branchesFor(def.expression, r.resourceType).flatMap(b => compileFhirPath(b)(r, r));
    const interesting = vals.filter(v => ['Attachment','System.Object','string','BackboneElement'].includes(v.type) && def.type !== 'string' && def.type!=='token' || (def.type==='reference' && v.type==='uri'));
    for (const v of interesting) { const k = code+v.type; if (shown.has(k)) continue; shown.add(k); console.log('TYPE', r.resourceType, code, def.type, v.type, JSON.stringify(v.value).slice(0,150)); }
    if (vals.length && !got.has(code)) { const k = r.resourceType+code; if (shown.has(k)) continue; shown.add(k); console.log('LOST', r.resourceType, r.id, code, def.type, def.target?.join(','), vals.map(v => v.type+':'+JSON.stringify(v.value).slice(0,100)).join(' ; ')); }
  }
}
