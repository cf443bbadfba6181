/**
 * Generates resources/fhir/stu3-xml-types.json: the STU3 structures in the form the `fhir` package (FHIR.js) reads
 * and writes FHIR XML with (its ParseConformance, built from the official StructureDefinition bundles). The package
 * ships R4 only; the node must not read ../shared at run time, so the STU3 form is generated once and kept here.
 *
 *   npx tsx scripts/generate-fhir-xml-types.ts        (reads ../shared/fhir/stu3, or $FHIR_SHARED_DIR)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ParseConformance } from 'fhir/parseConformance.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sharedDir = resolve(repoRoot, process.env.FHIR_SHARED_DIR ?? '../shared/fhir/stu3');
const outFile = resolve(repoRoot, 'resources/fhir/stu3-xml-types.json');

// The version only picks which base profiles FHIR.js lists; the structures come from the bundles.
const parser = new ParseConformance(false, 'STU3' as never);
for (const bundle of ['profiles-types.json', 'profiles-resources.json']) {
  parser.parseBundle(JSON.parse(readFileSync(resolve(sharedDir, bundle), 'utf8')) as never);
}
writeFileSync(outFile, JSON.stringify(parser.parsedStructureDefinitions));
console.log(`${outFile}: ${Object.keys(parser.parsedStructureDefinitions).length} structures`);
