import { readFileSync } from 'node:fs';
import { compileFhirPath } from './src-server/fhir/search/fhirpath.ts';
import { branchesFor, extractSearchValues } from './src-server/fhir/search/extract.ts';
import { parametersOfType } from './src-server/fhir/search/parameters.ts';
const ex = readFileSync('../shared/fhir/stu3/examples-all.ndjson','utf8').split('\n').filter(Boolean).map(l=>JSON.parse(l));
const pairs = new Map<string, number>(); const lost = new Map<string, number>();
let t0 = performance.now();
let withValues = 0;
for (const r of ex) {
  const got = new Map(extractSearchValues(r).map(p => [p.code, p]));
  withValues += got.size;
  for (const [code, def] of parametersOfType(r.resourceType)) {
    if (!def.expression || code === '_id' || code === '_lastUpdated' || def.type === 'composite') continue;
    let raw = 0;
    for (const b of branchesFor(def.expression, r.resourceType)) for (const v of compileFhirPath(b)(r, r)) { raw++; const k = `${def.type} ${v.type}`; pairs.set(k, (pairs.get(k) ?? 0) + 1); }
    if (raw > 0 && !got.has(code)) { const k = `${r.resourceType}.${code} (${def.type})`; lost.set(k, (lost.get(k) ?? 0) + 1); }
  }
}
console.log([...pairs].sort().map(([k, n]) => `${k}: ${n}`).join('\n'));
console.log('LOST', [...lost]);
console.log('pairs with values', withValues, 'ms', performance.now() - t0);
