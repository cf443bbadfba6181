import { resourceStructure, type Structure } from '../validation/model';
import { branchesFor, componentExpressions, expressionOf, STORE_PARAMETERS, targetsOf } from './expressions';
import type { SearchParameterDefinition, SearchParameters } from './parameters';

/**
 * Parameters that read other parameters' index rows instead of writing their own. STU3 repeats itself: Patient
 * `phonetic` is `name`, `family` the family part of `name`, `email` the email ContactPoints of `telecom`;
 * Observation `patient` is `subject` pointing at a Patient, `combo-code` is `code` plus `component-code`. Writing
 * those rows again made a third of a Patient's index, and every index row is a B-tree insert at a random place, the
 * main cost of a write. The relations are derived from the definitions in force (custom ones included), never
 * listed by hand, and only where the rows are provably the same:
 *
 * - same: the same expression and type (a reference may narrow the targets: rows restricted to those types);
 * - part: `<E>.<part>` of a string parameter `<E>` on HumanName or Address (rows restricted to that part);
 * - system: `<E>.where(system='<s>')` of a token parameter `<E>` on ContactPoint (rows restricted to that system);
 * - union: the union of the expressions of other parameters of the same type (the rows of all of them).
 */

/** A condition on the rows of the parameter(s) read, by index column. */
export type Restriction =
  /** References: the types the parameter may point to, and '' (references whose type is unknown, kept by both). */
  | { column: 'target_type'; values: readonly string[] }
  /** Strings: the HumanName/Address part (`family`, `city`…) the value came from. */
  | { column: 'part'; values: readonly string[] }
  /** Tokens: the ContactPoint system (`email`, `phone`…). */
  | { column: 'system'; values: readonly string[] };

/** Restriction values are written into SQL text (SearchIndex.rowsOf): only plain names qualify. */
const PLAIN_NAME = /^[A-Za-z][A-Za-z0-9-]*$/;

export interface SharedRows {
  /** The parameters whose rows (together) hold this one's values. */
  codes: readonly string[];
  restriction?: Restriction;
}

/** The parts a string parameter indexes per datatype, each row marked with its part (extract.ts mapString). */
export const STRING_PARTS: Readonly<Record<string, readonly string[]>> = {
  HumanName: ['family', 'given', 'prefix', 'suffix', 'text'],
  Address: ['line', 'city', 'district', 'state', 'postalCode', 'country', 'text'],
};

interface Candidate {
  code: string;
  type: SearchParameterDefinition['type'];
  /** The expression's branches for this resource type, sorted, without duplicates. */
  branches: string[];
  targets: ReadonlySet<string> | undefined;
  /** Composites: what their components are (type, expression, targets), to compare them. */
  components: string;
}

/** The relations by type, derived from one set of definitions (another set is another instance). */
const derived = new WeakMap<SearchParameters, Map<string, ReadonlyMap<string, SharedRows>>>();

/** How a parameter of the type is stored when another's rows hold it; undefined when it has rows of its own. */
export function sharedRows(definitions: SearchParameters, resourceType: string, code: string): SharedRows | undefined {
  let byType = derived.get(definitions);
  if (!byType) derived.set(definitions, (byType = new Map()));
  let shared = byType.get(resourceType);
  if (!shared) byType.set(resourceType, (shared = derive(definitions, resourceType)));
  return shared.get(code);
}

function derive(definitions: SearchParameters, resourceType: string): Map<string, SharedRows> {
  const candidates = [...definitions.ofType(resourceType)].flatMap(([code, definition]) => candidateOf(definitions, resourceType, code, definition));
  // Fewest and shortest branches first, so that the parameters a union, a part or a system reads are settled
  // before it; among equal expressions the widest targets first, so that the one the others narrow keeps the rows.
  candidates.sort(
    (a, b) => a.branches.length - b.branches.length || length(a) - length(b) || targetWidth(b) - targetWidth(a) || (a.code < b.code ? -1 : 1),
  );
  const own: Candidate[] = [];
  const shared = new Map<string, SharedRows>();
  for (const candidate of candidates) {
    const found = same(candidate, own) ?? part(resourceType, candidate, own) ?? system(resourceType, candidate, own) ?? union(candidate, own);
    if (found) shared.set(candidate.code, found);
    else own.push(candidate);
  }
  return shared;
}

function candidateOf(definitions: SearchParameters, resourceType: string, code: string, definition: SearchParameterDefinition): Candidate[] {
  const expression = expressionOf(definition);
  if (STORE_PARAMETERS.has(code) || !expression) return [];
  const branches = [...new Set(branchesFor(expression, resourceType))].sort();
  if (branches.length === 0) return [];
  const components =
    definition.type === 'composite'
      ? JSON.stringify(
          componentExpressions(definition).map(({ reference, expression: component }) => {
            const componentDefinition = definitions.atUrl(reference);
            return [componentDefinition?.type, component, [...(componentDefinition ? (targetsOf(componentDefinition) ?? []) : [])].sort()];
          }),
        )
      : '';
  return [{ code, type: definition.type, branches, targets: targetsOf(definition), components }];
}

const length = (candidate: Candidate) => candidate.branches.reduce((sum, branch) => sum + branch.length, 0);
const targetWidth = (candidate: Candidate) => (candidate.targets ? candidate.targets.size : Number.MAX_SAFE_INTEGER);
const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((item, i) => item === b[i]);
const alike = (a: Candidate, b: Candidate) => a.type === b.type && a.components === b.components;

function same(candidate: Candidate, own: Candidate[]): SharedRows | undefined {
  for (const other of own) {
    if (!alike(candidate, other) || !sameList(candidate.branches, other.branches)) continue;
    if (!candidate.targets) {
      if (!other.targets) return { codes: [other.code] };
      continue;
    }
    if (other.targets && [...candidate.targets].some((type) => !other.targets!.has(type))) continue;
    if ([...candidate.targets].some((type) => !PLAIN_NAME.test(type))) continue;
    const narrower = !other.targets || other.targets.size !== candidate.targets.size;
    return { codes: [other.code], ...(narrower ? { restriction: { column: 'target_type', values: [...candidate.targets, ''].sort() } } : {}) };
  }
  return undefined;
}

/** `<base>.<suffix>` for every branch, all with the same suffix matching `pattern`: the bases and that suffix. */
function commonSuffix(branches: string[], pattern: RegExp): { bases: string[]; suffix: string } | undefined {
  const split = branches.map((branch) => pattern.exec(branch));
  if (split.some((match) => !match) || new Set(split.map((match) => match![2])).size !== 1) return undefined;
  return { bases: [...new Set(split.map((match) => match![1]))].sort(), suffix: split[0]![2] };
}

function part(resourceType: string, candidate: Candidate, own: Candidate[]): SharedRows | undefined {
  if (candidate.type !== 'string') return undefined;
  const found = commonSuffix(candidate.branches, /^([A-Za-z.]+)\.([a-zA-Z]+)$/);
  if (!found) return undefined;
  const types = new Set(found.bases.map((base) => elementType(resourceType, base)));
  const [datatype] = types;
  if (types.size !== 1 || !datatype || !STRING_PARTS[datatype]?.includes(found.suffix)) return undefined;
  const other = own.find((parameter) => parameter.type === 'string' && sameList(parameter.branches, found.bases));
  return other && { codes: [other.code], restriction: { column: 'part', values: [found.suffix] } };
}

function system(resourceType: string, candidate: Candidate, own: Candidate[]): SharedRows | undefined {
  if (candidate.type !== 'token') return undefined;
  const found = commonSuffix(candidate.branches, /^([A-Za-z.]+)\.where\(system\s*=\s*'([a-z-]+)'\)$/);
  if (!found || !PLAIN_NAME.test(found.suffix) || !found.bases.every((base) => elementType(resourceType, base) === 'ContactPoint')) return undefined;
  const other = own.find((parameter) => parameter.type === 'token' && sameList(parameter.branches, found.bases));
  return other && { codes: [other.code], restriction: { column: 'system', values: [found.suffix] } };
}

function union(candidate: Candidate, own: Candidate[]): SharedRows | undefined {
  const branches = new Set(candidate.branches);
  const parts = own.filter(
    (other) =>
      alike(candidate, other) &&
      sameList([...(other.targets ?? [])].sort(), [...(candidate.targets ?? [])].sort()) &&
      other.branches.length < candidate.branches.length &&
      other.branches.every((branch) => branches.has(branch)),
  );
  const covered = new Set(parts.flatMap((other) => other.branches));
  if (parts.length < 2 || covered.size !== branches.size) return undefined;
  return { codes: parts.map((other) => other.code).sort() };
}

/** The datatype of the element at a plain path (`Patient.name` → HumanName), if the path is one. */
function elementType(resourceType: string, path: string): string | undefined {
  const [root, ...names] = path.split('.');
  let structure: Structure | undefined = root === resourceType ? resourceStructure(resourceType) : undefined;
  let type: string | undefined;
  for (const name of names) {
    const element = structure?.properties.get(name);
    if (!element) return undefined;
    type = element.type;
    structure = element.structure;
  }
  return type;
}
