import type { SearchParameterDefinition } from './parameters';

/**
 * SearchParameter expressions as the index reads them: cut into their union branches per type, with the STU3
 * definitions' known bugs fixed. Extraction (what is written) and shared rows (what is not written twice) both
 * read definitions through here, so they never disagree on what a parameter means.
 */

/** Parameters the store serves from its own columns, not from index rows. */
export const STORE_PARAMETERS: ReadonlySet<string> = new Set(['_id', '_lastUpdated']);

/** Top-level `|` branches of an expression (not inside parentheses, brackets or quotes). */
export function splitUnion(expression: string): string[] {
  const branches: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === '|' && depth === 0) {
      branches.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  branches.push(expression.slice(start).trim());
  return branches.filter((branch) => branch !== '');
}

/**
 * The branches of a (multi-base) expression that can apply to a type: those rooted at the type itself or at
 * Resource/DomainResource, e.g. `Goal.identifier` out of `DocumentManifest.identifier | Goal.identifier | …`.
 */
export function branchesFor(expression: string, resourceType: string): string[] {
  return splitUnion(expression).filter((branch) => {
    const root = /^\(*\s*([A-Za-z]+)/.exec(branch)?.[1];
    return root === resourceType || root === 'Resource' || root === 'DomainResource';
  });
}

/**
 * STU3 definition bugs, fixed as R4 fixed them: `Patient.deceased.exists()` makes `deceasedBoolean: false` a
 * deceased patient.
 */
const EXPRESSION_FIXES: Record<string, string> = {
  'http://hl7.org/fhir/SearchParameter/Patient-deceased': 'Patient.deceased.exists() and Patient.deceased != false',
};

/** The expression the index evaluates for a definition: its own, or the fixed one. */
export function expressionOf(definition: SearchParameterDefinition): string | undefined {
  return (definition.url && EXPRESSION_FIXES[definition.url]) || definition.expression;
}

/**
 * STU3's shared `patient` parameter targets Patient and Group because some of its bases' subjects may be Groups;
 * its meaning is "the subject, if a patient", which R4 spells `subject.where(resolve() is Patient)`.
 */
const TARGET_FIXES: Record<string, string[]> = {
  'http://hl7.org/fhir/SearchParameter/clinical-patient': ['Patient'],
};

/** Reference parameters: the resource types a reference may point to (an `Observation.patient` is not a Group). */
export function targetsOf(definition: SearchParameterDefinition): ReadonlySet<string> | undefined {
  if (definition.type !== 'reference') return undefined;
  const targets = (definition.url && TARGET_FIXES[definition.url]) || definition.target;
  return targets && targets.length > 0 ? new Set(targets) : undefined;
}

/**
 * STU3 definition bug: DocumentReference `relationship` lists its components as (relatesto: reference, relation:
 * token) but gives them the expressions `code` and `target`, i.e. swapped.
 */
const COMPONENT_EXPRESSION_FIXES: Record<string, string[]> = {
  'http://hl7.org/fhir/SearchParameter/DocumentReference-relationship': ['target', 'code'],
};

/** A composite's components: each one's definition (undefined when it cannot be resolved) and its expression. */
export function componentExpressions(definition: SearchParameterDefinition): Array<{ reference: string; expression: string }> {
  const fixes = definition.url ? COMPONENT_EXPRESSION_FIXES[definition.url] : undefined;
  return (definition.component ?? []).map((component, i) => ({ reference: component.definition.reference, expression: fixes?.[i] ?? component.expression }));
}
