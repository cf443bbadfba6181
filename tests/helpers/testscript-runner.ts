import { expect } from 'vitest';
import fhirpath from 'fhirpath';
import stu3 from 'fhirpath/fhir-context/stu3';
import { fhirFetch } from './node';

/**
 * A small runner of STU3 TestScripts (http://hl7.org/fhir/STU3/testscript.html) against one node, for the spec's
 * examples: operations read, vread, create, update, delete, search and history; variables from default values,
 * response headers, FHIRPath expressions or the caller (`hint`-only ones); asserts on response codes, headers,
 * content type, resource type, paths (the scripts' XPath `fhir:A/fhir:b/@value`, read as the FHIRPath `A.b`),
 * FHIRPath expressions, comparisons with fixtures, minimum content, navigation links and the request. What it does
 * not support (rules, rulesets, several origins or destinations) throws: such a script does not apply.
 *
 * Where the node deliberately differs from what a script expects, the run records the step as a deviation instead:
 * - `delete` is refused (405: nothing is ever deleted here, docs/architecture.md): the asserts on its response check
 *   the refusal; the scripts delete only to start clean, and each script runs on a fresh node;
 * - `xml` formats are asked as JSON (this node's FHIR format) and checked as such;
 * - `validateProfileId` (the base profile of the type): the resource is written back to the node, whose validation
 *   is the profile's (201 or 200).
 */

type Json = Record<string, any>;

export interface ScriptRun {
  /** Every assert checked, `<test id>: <assert label or kind>`. */
  checked: string[];
  /** Asserts marked warningOnly that did not hold. */
  warnings: string[];
  /** Steps run differently from the script, and why. */
  deviations: string[];
}

export interface ScriptOptions {
  fhir: string;
  token: string;
  /** The fixtures' resources by reference (`Patient/example`): the spec ships the scripts without them. */
  fixtures: Record<string, Json>;
  /** Values of the variables the script leaves to the tester (`hint` only). */
  variables?: Record<string, string>;
}

interface Response {
  status: number;
  headers: Headers;
  body: Json | undefined;
}

interface Request {
  method: string;
  url: string;
  headers: Record<string, string>;
}

const RESPONSE_CODES: Record<string, number[]> = {
  okay: [200],
  created: [201],
  noContent: [204],
  notModified: [304],
  bad: [400],
  forbidden: [403],
  notFound: [404],
  methodNotAllowed: [405],
  conflict: [409],
  gone: [410],
  preconditionFailed: [412],
  unprocessable: [422],
};

export async function runTestScript(script: Json, options: ScriptOptions): Promise<ScriptRun> {
  if (script.rule || script.ruleset) throw new Error(`${script.id}: rules and rulesets (external assertion scripts) are not supported`);
  if ((script.origin ?? []).length > 1 || (script.destination ?? []).length > 1) throw new Error(`${script.id}: several origins or destinations (multi-server) are not supported`);
  const run: ScriptRun = { checked: [], warnings: [], deviations: [] };
  const fixtures = new Map<string, Json>();
  for (const fixture of script.fixture ?? []) {
    const resource = options.fixtures[fixture.resource.reference];
    if (!resource) throw new Error(`${script.id}: no resource for fixture ${fixture.id} (${fixture.resource.reference})`);
    fixtures.set(fixture.id, structuredClone(resource));
  }
  const responses = new Map<string, Response>();
  const variables = new Map<string, string>();
  let last: { request: Request; response: Response; refusedDelete: boolean } | undefined;

  const variable = (definition: Json): string | undefined => {
    if (options.variables?.[definition.name] !== undefined) return options.variables[definition.name];
    if (definition.headerField) return responses.get(definition.sourceId)?.headers.get(definition.headerField) ?? undefined;
    const source = definition.sourceId ? (fixtures.get(definition.sourceId) ?? responses.get(definition.sourceId)?.body) : last?.response.body;
    const expression = definition.expression ?? (definition.path && fhirPathOf(definition.path));
    if (expression && source) {
      const [value] = evaluate(source, expression);
      if (value !== undefined) return String(value);
    }
    return definition.defaultValue;
  };
  const substitute = (text: string) =>
    text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
      const definition = (script.variable ?? []).find((candidate: Json) => candidate.name === name);
      const value = variables.get(name) ?? (definition && variable(definition));
      if (value === undefined) throw new Error(`${script.id}: variable ${name} has no value`);
      variables.set(name, value);
      return value;
    });

  const operate = async (operation: Json, where: string) => {
    const type = operation.type?.code as string;
    const target = operation.targetId ? fixtures.get(operation.targetId) : undefined;
    const resourceType = operation.resource ?? target?.resourceType;
    let path: string;
    if (operation.url) path = substitute(operation.url);
    else if (operation.params) path = `${resourceType}${substitute(operation.params)}`;
    else if (target) path = `${resourceType}/${target.id}`;
    else path = type === 'history' || type === 'search' || type === 'create' ? resourceType : '';
    if (type === 'history' && !path.includes('_history')) path = `${path}/_history`;
    const method = { read: 'GET', vread: 'GET', search: 'GET', history: 'GET', create: 'POST', update: 'PUT', delete: 'DELETE' }[type];
    if (!method) throw new Error(`${script.id}: operation ${type} is not supported`);
    let body: Json | undefined;
    if (operation.sourceId) {
      body = structuredClone(fixtures.get(operation.sourceId) ?? responses.get(operation.sourceId)?.body);
      if (!body) throw new Error(`${script.id}: no fixture ${operation.sourceId}`);
      // The resource sent is the one at the URL (an update of Patient/example with the pat1 fixture).
      if (type === 'update') body.id = path.split('/')[1];
      if (type === 'create') delete body.id;
    }
    for (const format of [operation.contentType, operation.accept]) if (format === 'xml') note(run, where, 'xml asked as JSON, the node\'s FHIR format');
    const headers = { accept: 'application/fhir+json' };
    const response = await fhirFetch(options.fhir, options.token, path, { method, headers, ...(body ? { json: body } : {}) });
    const text = await response.text();
    const parsed: Response = { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Json) : undefined };
    if (operation.responseId) responses.set(operation.responseId, parsed);
    last = { request: { method, url: `${options.fhir}/${path}`, headers }, response: parsed, refusedDelete: type === 'delete' };
    if (type === 'delete') {
      expect(parsed.status, `${where}: delete`).toBe(405);
      note(run, where, 'delete refused (405): nothing is deleted on this node; the script starts on a fresh node instead');
    }
    // A variable read from this response's headers (`Location` of a create) is fixed now.
    for (const definition of script.variable ?? []) if (definition.headerField && definition.sourceId === operation.responseId) variables.set(definition.name, variable(definition)!);
  };

  const check = async (assertion: Json, where: string) => {
    if (assertion.rule || assertion.ruleset) throw new Error(`${script.id}: rule asserts are not supported`);
    if (!last) throw new Error(`${where}: an assert before any operation`);
    const label = `${where}: ${assertion.label ?? Object.keys(assertion).filter((key) => key !== 'description').join(' ')}`;
    if (last.refusedDelete) return; // the asserts on a delete's success: checked as its refusal (operate).
    const response = last.response;
    const source = assertion.sourceId ? (fixtures.get(assertion.sourceId) ?? responses.get(assertion.sourceId)?.body ?? response.body) : response.body;
    const failures: string[] = [];
    const holds = (ok: boolean, what: string) => {
      if (!ok) failures.push(what);
    };
    const compare = (actual: unknown, expected: string | undefined, operator = 'equals') => {
      const value = actual === undefined ? undefined : String(actual);
      switch (operator) {
        case 'equals':
          return value === expected;
        case 'notEquals':
          return value !== expected;
        case 'in':
          return expected!.split(',').includes(value!);
        case 'notIn':
          return !expected!.split(',').includes(value!);
        case 'contains':
          return value !== undefined && value.includes(expected!);
        case 'notContains':
          return value === undefined || !value.includes(expected!);
        case 'empty':
          return !value;
        case 'notEmpty':
          return !!value;
        default:
          throw new Error(`${label}: operator ${operator} is not supported`);
      }
    };
    if (assertion.response) holds((RESPONSE_CODES[assertion.response] ?? []).includes(response.status), `response ${assertion.response}, got ${response.status}`);
    if (assertion.responseCode) holds(compare(response.status, assertion.responseCode, assertion.operator), `responseCode ${assertion.operator ?? 'equals'} ${assertion.responseCode}, got ${response.status}`);
    if (assertion.contentType) {
      if (assertion.contentType === 'xml') note(run, label, 'contentType xml checked as JSON');
      holds((response.headers.get('content-type') ?? '').startsWith('application/fhir+json'), `contentType, got ${response.headers.get('content-type')}`);
    }
    if (assertion.headerField) {
      const value = assertion.direction === 'request' ? last.request.headers[assertion.headerField.toLowerCase()] : response.headers.get(assertion.headerField);
      const expected = assertion.value === 'xml' ? 'json' : assertion.value;
      holds(compare(value ?? undefined, expected, assertion.operator), `header ${assertion.headerField} ${assertion.operator} ${assertion.value ?? ''}, got ${value}`);
    }
    if (assertion.requestURL) holds(compare(last.request.url, assertion.requestURL, assertion.operator), `requestURL ${assertion.operator} ${assertion.requestURL}`);
    if (assertion.requestMethod) holds(last.request.method.toLowerCase() === assertion.requestMethod, `requestMethod ${assertion.requestMethod}`);
    if (assertion.resource) holds(source?.resourceType === assertion.resource, `resource ${assertion.resource}, got ${source?.resourceType}`);
    if (assertion.navigationLinks !== undefined) holds((source?.link ?? []).some((link: Json) => link.relation === 'self') === assertion.navigationLinks, 'navigation links');
    if (assertion.validateProfileId) {
      const written = await fhirFetch(options.fhir, options.token, `${source!.resourceType}/validate-${run.checked.length}`, { method: 'PUT', json: { ...source, id: `validate-${run.checked.length}` } });
      holds([200, 201].includes(written.status), `validates as ${assertion.validateProfileId}: ${written.status} ${await written.text()}`);
    }
    if (assertion.path || assertion.expression || assertion.compareToSourceId) {
      const expression = assertion.expression ?? (assertion.path ? fhirPathOf(assertion.path) : undefined);
      if (assertion.compareToSourceId) {
        const other = fixtures.get(assertion.compareToSourceId) ?? responses.get(assertion.compareToSourceId)?.body;
        const otherExpression = assertion.compareToSourceExpression ?? fhirPathOf(assertion.compareToSourcePath);
        const expected = evaluate(other!, otherExpression)[0];
        const actual = evaluate(source!, expression ?? otherExpression)[0];
        holds(compare(actual, expected === undefined ? undefined : String(expected), assertion.operator), `${expression ?? otherExpression}: ${String(actual)} vs ${String(expected)}`);
      } else if (assertion.expression && assertion.value === undefined) {
        const [result] = evaluate(source!, expression!);
        holds(result === true, `${expression} is ${String(result)}`);
      } else {
        const [actual] = evaluate(source!, expression!);
        holds(compare(actual, assertion.value, assertion.operator), `${expression} ${assertion.operator ?? 'equals'} ${assertion.value}, got ${String(actual)}`);
      }
    }
    if (assertion.minimumId) {
      const minimum = fixtures.get(assertion.minimumId)!;
      holds(contains(source, withoutMeta(minimum)), `holds at least fixture ${assertion.minimumId}`);
    }
    run.checked.push(label);
    if (failures.length === 0) return;
    if (assertion.warningOnly) run.warnings.push(`${label}: ${failures.join('; ')}`);
    else expect.fail(`${label}: ${failures.join('; ')}`);
  };

  const perform = async (actions: Json[] | undefined, where: string) => {
    for (const action of actions ?? []) {
      if (action.operation) await operate(action.operation, where);
      if (action.assert) await check(action.assert, where);
    }
  };
  await perform(script.setup?.action, 'setup');
  for (const test of script.test ?? []) await perform(test.action, test.id ?? test.name);
  await perform(script.teardown?.action, 'teardown');
  return run;
}

function note(run: ScriptRun, where: string, what: string): void {
  const line = `${where}: ${what}`;
  if (!run.deviations.includes(line)) run.deviations.push(line);
}

/** The scripts' XPath over FHIR XML (`fhir:Patient/fhir:name/fhir:family/@value`) as FHIRPath over JSON. */
function fhirPathOf(path: string): string {
  return path
    .replace(/\/@value$/, '')
    .split('/')
    .map((step) => step.replace(/^fhir:/, ''))
    .join('.');
}

function evaluate(resource: Json, expression: string): unknown[] {
  return fhirpath.evaluate(resource, expression, undefined, stu3) as unknown[];
}

function withoutMeta(resource: Json): Json {
  const { meta: _meta, text: _text, ...rest } = resource;
  return rest;
}

/** Whether `actual` holds every element of `minimum` (arrays: each item found in the actual array). */
function contains(actual: unknown, minimum: unknown): boolean {
  if (Array.isArray(minimum)) return Array.isArray(actual) && minimum.every((item) => actual.some((candidate) => contains(candidate, item)));
  if (minimum && typeof minimum === 'object') {
    if (!actual || typeof actual !== 'object') return false;
    return Object.entries(minimum).every(([key, value]) => contains((actual as Json)[key], value));
  }
  return actual === minimum;
}
