import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { SearchParameters } from '../../../src-server/fhir/search/parameters';
import { validateResource } from '../../../src-server/fhir/validation/validate';
import { concreteResourceTypes, readAllExamples, SHARED_FHIR, type Resource } from '../../helpers/fhir-data';
import { useTestNode } from '../../helpers/node';

/**
 * The CapabilityStatement checked against the running node in both directions: every interaction, search parameter
 * (with each declared modifier) and operation it declares works; every STU3 interaction, official search parameter,
 * search modifier and spec operation the node refuses is absent from it.
 */

type Json = Record<string, any>;

const node = useTestNode();
let statement: Json;
let rest: Json;
/** One stored resource of each type, for the instance-level interactions. */
const seeded = new Map<string, { id: string; versionId: string; example: Resource }>();

const INTERACTIONS = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'];
const MODIFIERS = ['missing', 'exact', 'contains', 'not', 'text', 'in', 'not-in', 'below', 'above', 'type'];
const MODIFIER_URL = 'http://liaison.health/fhir/StructureDefinition/search-modifier';
/** The targets of the reference parameters (`:[type]`), as the node's definitions give them. */
const definitions = SearchParameters.builtIn();

beforeAll(async () => {
  statement = (await (await fetch(`${node().fhir}/metadata`)).json()) as Json;
  rest = statement.rest[0];
  const examples = new Map<string, Resource>();
  for (const example of readAllExamples()) if (!examples.has(example.resourceType)) examples.set(example.resourceType, example);
  // Stored directly, as import and sync store them: the directory types have no other way in.
  for (const type of concreteResourceTypes()) {
    const found = examples.get(type);
    // A few types have no official example: their instance-level interactions go unchecked.
    if (!found) continue;
    const { id: _id, meta: _meta, ...example } = found;
    let stored;
    try {
      stored = node().repository.create(type, example);
    } catch {
      continue; // an example the store refuses as it stands (a Subscription's header)
    }
    seeded.set(type, { id: stored.id, versionId: stored.versionId, example: example as Resource });
  }
});

const capabilityOf = (type: string): Json => rest.resource.find((resource: Json) => resource.type === type);
const declaredInteractions = (type: string): string[] => capabilityOf(type).interaction.map((interaction: Json) => interaction.code);

async function status(path: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number; diagnostics?: string }> {
  const response = await node().request(path, init);
  const text = await response.text();
  const body = text && response.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as Json) : undefined;
  return { status: response.status, diagnostics: body?.resourceType === 'OperationOutcome' ? body.issue?.[0]?.diagnostics : undefined };
}

/** Runs `tasks` a few at a time. */
async function inBatches<T>(items: readonly T[], task: (item: T) => Promise<void>, size = 8): Promise<void> {
  for (let start = 0; start < items.length; start += size) await Promise.all(items.slice(start, start + size).map(task));
}

/** The request that exercises an interaction on a seeded resource of the type. */
function interactionRequest(type: string, code: string): [string, RequestInit & { json?: unknown }] {
  const { id, versionId, example } = seeded.get(type) ?? { id: 'unseeded', versionId: '1', example: { resourceType: type } };
  switch (code) {
    case 'read':
      return [`${type}/${id}`, {}];
    case 'vread':
      return [`${type}/${id}/_history/${versionId}`, {}];
    case 'update':
      return [`${type}/${id}`, { method: 'PUT', json: { ...example, id } }];
    case 'patch':
      return [`${type}/${id}`, { method: 'PATCH', json: [] }];
    case 'delete':
      return [`${type}/${id}`, { method: 'DELETE' }];
    case 'history-instance':
      return [`${type}/${id}/_history`, {}];
    case 'history-type':
      return [`${type}/_history`, {}];
    case 'create':
      return [type, { method: 'POST', json: example }];
    default:
      return [type, {}];
  }
}

describe('the statement', () => {
  it('is a valid STU3 CapabilityStatement, its OperationDefinitions contained and valid too', () => {
    expect(validateResource(statement)).toEqual([]);
    for (const definition of statement.contained) expect(validateResource(definition), definition.id).toEqual([]);
    for (const operation of rest.operation) expect(statement.contained.map((definition: Json) => `#${definition.id}`)).toContain(operation.definition.reference);
  });

  it('declares every STU3 resource type, the formats the node writes, its limits and its OAuth endpoints', () => {
    expect(rest.resource.map((resource: Json) => resource.type)).toEqual(concreteResourceTypes());
    expect(statement.format).toEqual(['application/fhir+json', 'json', 'application/fhir+xml', 'xml']);
    expect(rest.extension[0].url).toBe('http://liaison.health/fhir/StructureDefinition/input-limits');
    const uris = rest.security.extension.find((extension: Json) => extension.url.endsWith('/oauth-uris'));
    expect(uris.extension).toEqual([
      { url: 'authorize', valueUri: `${node().url}/authorize` },
      { url: 'token', valueUri: `${node().url}/oauth/token` },
      { url: 'revoke', valueUri: `${node().url}/oauth/revoke` },
    ]);
  });

  it('declares the rate limits every caller meets (docs/access.md)', () => {
    const limits = rest.security.extension.find((extension: Json) => extension.url.endsWith('/rate-limits'));
    expect(limits.extension).toEqual([
      { url: 'clientCallsPerSecond', valueDecimal: 10 },
      { url: 'userCallsPerSecond', valueDecimal: 50 },
    ]);
    expect(rest.security.description).toContain('429 with Retry-After');
    expect(rest.security.description).toContain('one call per entry');
  });

  it('declares the directory types read-only', () => {
    for (const type of ['Practitioner', 'PractitionerRole', 'Organization', 'Location', 'HealthcareService']) {
      expect(declaredInteractions(type).sort(), type).toEqual(['history-instance', 'history-type', 'read', 'search-type', 'vread']);
      expect(capabilityOf(type)).toMatchObject({ updateCreate: false, conditionalCreate: false, conditionalUpdate: false });
    }
  });
});

describe('interactions, both ways', () => {
  it('every declared interaction works and every STU3 interaction the node refuses is undeclared, type by type', async () => {
    const wrong: string[] = [];
    await inBatches(
      concreteResourceTypes().flatMap((type) => INTERACTIONS.map((code) => [type, code] as const)),
      async ([type, code]) => {
        const declared = declaredInteractions(type).includes(code);
        if (declared && !seeded.has(type) && !['history-type', 'search-type'].includes(code)) return;
        const answer = await status(...interactionRequest(type, code));
        // A write rule may refuse an example's content (409, 422): the interaction itself is there.
        const works = answer.status < 300 || (['create', 'update'].includes(code) && [403, 409, 412, 422].includes(answer.status));
        if (declared && !works) wrong.push(`${type} ${code} is declared but answers ${answer.status}: ${answer.diagnostics}`);
        if (!declared && answer.status !== 405) wrong.push(`${type} ${code} is undeclared but answers ${answer.status}`);
      },
    );
    expect(wrong).toEqual([]);
  });

  it('the system interactions: transaction, batch and history-system work; search-system is refused and undeclared', async () => {
    expect(rest.interaction.map((interaction: Json) => interaction.code).sort()).toEqual(['batch', 'history-system', 'transaction']);
    for (const type of ['batch', 'transaction']) {
      const bundle = { resourceType: 'Bundle', type, entry: [{ request: { method: 'GET', url: 'Patient' } }] };
      expect((await status('', { method: 'POST', json: bundle })).status).toBe(200);
    }
    expect((await status('_history')).status).toBe(200);
    expect((await status('')).status).toBeGreaterThanOrEqual(400);
  });
});

/** A value of the parameter's type that the node can read. */
function valueOf(type: string, modifier?: string): string {
  if (modifier === 'missing') return 'true';
  switch (type) {
    case 'date':
      return '2020-01-01';
    case 'number':
    case 'quantity':
      return '1';
    case 'uri':
      return 'http://example.org/a';
    case 'reference':
      return 'Patient/a';
    case 'composite':
      return 'ab$ab';
    default:
      return 'ab';
  }
}

function officialCodes(type: string): string[] {
  const bundle = JSON.parse(readFileSync(`${SHARED_FHIR}/search-parameters.json`, 'utf8')) as { entry: Array<{ resource: { code: string; base: string[] } }> };
  const bases = [type, 'Resource', ...(['Binary', 'Bundle', 'Parameters'].includes(type) ? [] : ['DomainResource'])];
  return [...new Set(bundle.entry.filter(({ resource }) => resource.base.some((base) => bases.includes(base))).map(({ resource }) => resource.code))];
}

describe('search parameters and modifiers, both ways', () => {
  it('every declared parameter, with each declared modifier, is searched; every other modifier is refused', async () => {
    const wrong: string[] = [];
    const searches: Array<{ url: string; declared: boolean; what: string }> = [];
    for (const type of concreteResourceTypes()) {
      for (const param of capabilityOf(type).searchParam as Json[]) {
        const declared = (param.extension ?? []).filter((extension: Json) => extension.url === MODIFIER_URL).map((extension: Json) => extension.valueCode as string);
        // Composites take their components' values: checked without a modifier by the parameter's own tests.
        if (param.type !== 'composite') searches.push({ url: `${type}?${param.name}=${encodeURIComponent(valueOf(param.type))}`, declared: true, what: `${type}.${param.name}` });
        for (const modifier of MODIFIERS) {
          if (modifier === 'type') {
            const targets: string[] = declared.includes('type') ? definitions.parameter(type, param.name)!.target! : ['Patient'];
            for (const target of targets) {
              searches.push({ url: `${type}?${param.name}:${target}=a`, declared: declared.includes('type'), what: `${type}.${param.name}:${target}` });
            }
          } else {
            searches.push({ url: `${type}?${param.name}:${modifier}=${encodeURIComponent(valueOf(param.type, modifier))}`, declared: declared.includes(modifier), what: `${type}.${param.name}:${modifier}` });
          }
        }
      }
    }
    await inBatches(searches, async ({ url, declared, what }) => {
      const answer = await status(url);
      if (declared && answer.status !== 200) wrong.push(`${what} is declared but answers ${answer.status}: ${answer.diagnostics}`);
      if (!declared && answer.status !== 400) wrong.push(`${what} is undeclared but answers ${answer.status}`);
    });
    expect(wrong).toEqual([]);
    expect(searches.length).toBeGreaterThan(5000);
  });

  it('every official STU3 parameter the node refuses is undeclared', async () => {
    const wrong: string[] = [];
    const checks = concreteResourceTypes().flatMap((type) => {
      const declared = new Set((capabilityOf(type).searchParam as Json[]).map((param) => param.name as string));
      return officialCodes(type)
        .filter((code) => !declared.has(code))
        .map((code) => ({ type, code }));
    });
    await inBatches(checks, async ({ type, code }) => {
      const answer = await status(`${type}?${code}=ab`);
      if (answer.status !== 400 || !/not supported|Unknown/.test(answer.diagnostics ?? '')) wrong.push(`${type}.${code} is undeclared but answers ${answer.status}: ${answer.diagnostics}`);
    });
    expect(wrong).toEqual([]);
    // The text index's parameters are declared where it serves them, and only there.
    expect(capabilityOf('Practitioner').searchParam.map((param: Json) => param.name)).toEqual(expect.arrayContaining(['_content', '_text']));
    expect(capabilityOf('Observation').searchParam.map((param: Json) => param.name)).not.toContain('_content');
  });

  it("a custom SearchParameter of the store is declared, and searched", async () => {
    const parameter = {
      resourceType: 'SearchParameter',
      url: 'http://example.org/SearchParameter/patient-nickname',
      name: 'nickname',
      status: 'active',
      description: 'A nickname',
      code: 'nickname',
      base: ['Patient'],
      type: 'string',
      expression: "Patient.name.where(use = 'nickname').given",
    };
    expect((await node().request('SearchParameter', { method: 'POST', json: parameter })).status).toBe(201);
    const after = (await (await fetch(`${node().fhir}/metadata`)).json()) as Json;
    const declared = after.rest[0].resource.find((resource: Json) => resource.type === 'Patient').searchParam.find((param: Json) => param.name === 'nickname');
    expect(declared).toMatchObject({ type: 'string', definition: parameter.url });
    expect((await status('Patient?nickname=ab')).status).toBe(200);
  });

  it('the declared _include and _revinclude values are accepted', async () => {
    const wrong: string[] = [];
    const checks = ['Patient', 'Practitioner', 'Encounter', 'DocumentReference', 'Observation'].flatMap((type) => [
      ...(capabilityOf(type).searchInclude as string[]).map((value) => `${type}?_include=${encodeURIComponent(value)}`),
      ...(capabilityOf(type).searchRevInclude as string[]).map((value) => `${type}?_revinclude=${encodeURIComponent(value)}`),
    ]);
    await inBatches(checks, async (url) => {
      const answer = await status(url);
      if (answer.status !== 200) wrong.push(`${url}: ${answer.status} ${answer.diagnostics}`);
    });
    expect(wrong).toEqual([]);
  });
});

describe('operations, both ways', () => {
  it('every declared operation is served at each level and on each type it declares', async () => {
    // Resources written through the API, whose operations need them so (a Subscription's secret).
    const created = async (resource: Json) => ((await (await node().request(resource.resourceType, { method: 'POST', json: resource })).json()) as Json).id as string;
    const instances: Record<string, string> = {
      Patient: await created({ resourceType: 'Patient', name: [{ family: 'Martin' }] }),
      Communication: await created({ resourceType: 'Communication', status: 'completed' }),
      DocumentReference: await created({ resourceType: 'DocumentReference', status: 'current', type: { text: 'Courrier' }, indexed: '2026-12-01T08:00:00Z', content: [{ attachment: { url: 'https://example.org/courrier.pdf' } }] }),
      Subscription: await created({ resourceType: 'Subscription', status: 'off', reason: 'Agenda', criteria: 'Patient?gender=other', channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:9/hook' } }),
    };
    const wrong: string[] = [];
    for (const definition of statement.contained as Json[]) {
      const types: string[] = definition.resource ?? ['Patient'];
      const paths = [
        ...(definition.system ? [`$${definition.code}`] : []),
        ...(definition.type ? types.map((type) => `${type}/$${definition.code}`) : []),
        ...(definition.instance ? types.map((type) => `${type}/${instances[type]}/$${definition.code}`) : []),
      ];
      expect(paths.length, definition.code).toBeGreaterThan(0);
      for (const path of paths) {
        const answer = definition.idempotent && definition.code !== 'search-for-mss' ? await status(path) : await status(path, { method: 'POST', json: { resourceType: 'Parameters' } });
        // Served: not a 404 or 405, nor "not supported"; missing parameters (400, 422) and scopes (403) are the operation's own answers.
        if ([404, 405, 501].includes(answer.status) || /not supported/.test(answer.diagnostics ?? '') || answer.status >= 500) wrong.push(`${path}: ${answer.status} ${answer.diagnostics}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(rest.operation.map((operation: Json) => operation.name)).toEqual(
      expect.arrayContaining(['everything', 'care-pathway', 'changes', 'conflicts', 'resolve', 'handshake', 'replicate', 'content', 'send-to-mss', 'send-to-ehr', 'tracking', 'search-for-mss', 'attach']),
    );
  });

  it("every operation of the STU3 spec the node refuses is undeclared", async () => {
    const bundle = JSON.parse(readFileSync(`${SHARED_FHIR}/profiles-resources.json`, 'utf8')) as { entry: Array<{ resource: Json }> };
    const declared = new Set(rest.operation.map((operation: Json) => operation.name));
    const wrong: string[] = [];
    for (const definition of bundle.entry.map((entry) => entry.resource).filter((resource) => resource.resourceType === 'OperationDefinition')) {
      if (declared.has(definition.code)) continue;
      const type = (definition.resource as string[] | undefined)?.find((name) => seeded.has(name)) ?? 'Patient';
      const path = definition.system ? `$${definition.code}` : definition.type ? `${type}/$${definition.code}` : `${type}/${seeded.get(type)?.id ?? 'none'}/$${definition.code}`;
      const answer = await status(path, { method: 'POST', json: { resourceType: 'Parameters' } });
      if (answer.status !== 400 || !/not supported/.test(answer.diagnostics ?? '')) wrong.push(`${path}: ${answer.status} ${answer.diagnostics}`);
    }
    expect(wrong).toEqual([]);
  });
});
