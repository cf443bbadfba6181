import { readFileSync } from 'node:fs';
import { extractSearchValues } from './src-server/fhir/search/extract.ts';
const ex = readFileSync('../shared/fhir/stu3/examples-all.ndjson','utf8').split('\n').filter(Boolean).map(l=>JSON.parse(l));
let t = performance.now();
for (const r of ex) extractSearchValues(r);
console.log('first pass (compiles plans) ms', (performance.now() - t).toFixed(1));
for (let i = 0; i < 3; i++) for (const r of ex) extractSearchValues(r);
const rounds = 20;
t = performance.now();
for (let i = 0; i < rounds; i++) for (const r of ex) extractSearchValues(r);
const ms = performance.now() - t;
console.log(`all 666: ${(ms * 1000 / rounds / ex.length).toFixed(1)} us/resource, ${(rounds * ex.length / ms * 1000).toFixed(0)} resources/s`);
const byType = new Map<string, any[]>();
for (const r of ex) { if (!byType.has(r.resourceType)) byType.set(r.resourceType, []); byType.get(r.resourceType)!.push(r); }
for (const type of ['Patient', 'Observation', 'Encounter', 'Practitioner', 'Organization', 'DocumentReference', 'Appointment', 'Bundle']) {
  const rs = byType.get(type) ?? [];
  const n = Math.max(1, Math.ceil(3000 / rs.length));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) for (const r of rs) extractSearchValues(r);
  console.log(type.padEnd(18), rs.length, ((performance.now() - t0) * 1000 / n / rs.length).toFixed(1), 'us');
}
// slowest examples
const times = ex.map(r => { const t0 = performance.now(); for (let i = 0; i < 20; i++) extractSearchValues(r); return [(performance.now() - t0) * 50, r.resourceType + '/' + r.id] as const; }).sort((a, b) => b[0] - a[0]);
console.log(times.slice(0, 8).map(([u, n]) => `${n} ${u.toFixed(0)}us`).join('\n'));
