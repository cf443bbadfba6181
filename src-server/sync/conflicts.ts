import { DIRECTORY_TYPES } from '../fhir/directory';
import { badRequest, forbidden, methodNotAllowed } from '../fhir/outcome';
import type { FhirOperation, OperationCall, OperationDescription } from '../rest/extensions';
import { versionHeaders } from '../rest/interactions';
import type { OpenConflict, OpenConflicts } from '../store/open-conflicts';
import type { Repository } from '../store/repository';
import { fieldDiff, isArchived } from '../store/merge';
import { readPageSize } from './protocol';

/**
 * Conflicts as people see and close them (docs/sync.md): `GET [base]/$conflicts` and `GET [base]/Type/id/$conflicts`
 * list the open ones with every leaf, the provisional winner and a field-level diff; `POST [base]/Type/id/$resolve`
 * stores the person's version with all the leaves as parents, which closes the conflict on every node it reaches,
 * and records a Provenance of the resolution.
 */

type Json = Record<string, unknown>;

const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;
/** Open conflicts one page reads at most for a caller that may not see them all. */
const SCAN_BUDGET = 2000;

const CONFLICTS: OperationDescription = {
  description: 'The open sync conflicts the caller may see: on the base, all of them in (type, id) order; on a resource, its own (none: an empty Parameters).',
  parameters: [
    { name: 'cursor', use: 'in', min: 0, max: '1', type: 'string', documentation: 'On the base: the Type/id after which the page starts (from the `next` part)' },
    { name: '_count', use: 'in', min: 0, max: '1', type: 'integer', documentation: `On the base: conflicts a page holds (${DEFAULT_PAGE} by default, ${MAX_PAGE} at most)` },
    {
      name: 'conflict',
      use: 'out',
      min: 0,
      max: '*',
      documentation: 'Each conflict: its target, when it opened, the winning version, each leaf (versionId, archived, resource) and the differences between them',
      parts: [
        { name: 'target', use: 'out', min: 1, max: '1', type: 'Reference' },
        { name: 'opened', use: 'out', min: 1, max: '1', type: 'instant' },
        { name: 'winner', use: 'out', min: 1, max: '1', type: 'id' },
        {
          name: 'leaf',
          use: 'out',
          min: 1,
          max: '*',
          parts: [
            { name: 'versionId', use: 'out', min: 1, max: '1', type: 'id' },
            { name: 'archived', use: 'out', min: 1, max: '1', type: 'boolean' },
            { name: 'resource', use: 'out', min: 1, max: '1', type: 'Resource' },
          ],
        },
        {
          name: 'difference',
          use: 'out',
          min: 0,
          max: '*',
          parts: [
            { name: 'path', use: 'out', min: 1, max: '1', type: 'string' },
            { name: 'value', use: 'out', min: 1, max: '*', type: 'string', documentation: 'Parts versionId and json: the value of each leaf' },
          ],
        },
      ],
    },
    { name: 'next', use: 'out', min: 0, max: '1', type: 'string', documentation: 'The URL of the next page' },
  ],
};

const RESOLVE: OperationDescription = {
  description: 'Settles the open conflict of a resource: the version the person settled on becomes the current one (409 if the conflict changed meanwhile). Not on directory types.',
  parameters: [
    { name: 'resource', use: 'in', min: 1, max: '1', type: 'Resource', documentation: 'The version settled on' },
    { name: 'leaf', use: 'in', min: 1, max: '*', type: 'id', documentation: 'Each version of the conflict the person saw' },
  ],
};

export class ConflictOperations {
  constructor(private readonly conflicts: OpenConflicts) {}

  operations(): FhirOperation[] {
    return [
      { name: '$conflicts', level: 'system', methods: ['GET'], definition: CONFLICTS, run: (call) => this.list(call) },
      { name: '$conflicts', level: 'instance', methods: ['GET'], definition: CONFLICTS, run: (call) => this.ofResource(call) },
      { name: '$resolve', level: 'instance', methods: ['POST'], definition: RESOLVE, run: (call) => this.resolve(call) },
    ];
  }

  /** Open conflicts in (type, id) order after the cursor `Type/id`, those the caller may read. */
  private list({ request, base, interactions }: OperationCall) {
    const count = readPageSize(request.query.get('_count'), DEFAULT_PAGE, MAX_PAGE);
    const cursor = request.query.get('cursor') ?? '';
    const [afterType = '', afterId = ''] = cursor === '' ? [] : cursor.split('/');
    const parameter: Json[] = [];
    let last: OpenConflict | undefined;
    let more = true;
    for (let scanned = 0; parameter.length < count && scanned < SCAN_BUDGET; ) {
      const wanted = count - parameter.length;
      const rows = this.conflicts.after(last?.resource_type ?? afterType, last?.resource_id ?? afterId, wanted);
      for (const row of rows) {
        last = row;
        scanned++;
        if (!request.scopes.allows(row.resource_type, 'READ')) continue;
        if (!interactions.searchEngine.isVisible({ resourceType: row.resource_type, id: row.resource_id }, request, base)) continue;
        parameter.push(conflictPart(interactions.repository, row));
      }
      if (rows.length < wanted) {
        more = false;
        break;
      }
    }
    if (more && last) parameter.push({ name: 'next', valueString: `${base}/$conflicts?${new URLSearchParams({ cursor: `${last.resource_type}/${last.resource_id}`, _count: String(count) })}` });
    return { status: 200, headers: {}, body: { resourceType: 'Parameters', ...(parameter.length ? { parameter } : {}) } };
  }

  /** The open conflict of one resource (none: an empty Parameters). The instance's read rules already applied. */
  private ofResource({ type, id, interactions }: OperationCall) {
    const row = this.conflicts.of(type!, id!);
    return { status: 200, headers: {}, body: { resourceType: 'Parameters', ...(row ? { parameter: [conflictPart(interactions.repository, row)] } : {}) } };
  }

  /**
   * `POST Type/id/$resolve` with a Parameters: `resource` (the version the person settled on) and one `leaf` (valueId)
   * per version of the conflict they saw. The leaves must still be the conflict's (409 otherwise).
   */
  private resolve({ request, base, type, id, interactions }: OperationCall) {
    const resourceType = type!;
    if (DIRECTORY_TYPES.has(resourceType)) throw methodNotAllowed('directory-read-only', `${resourceType} is a directory resource: its conflicts are resolved on the directory node`, []);
    request.scopes.require(resourceType, 'UPDATE');
    const { resource, leaves } = readResolution(request.body, resourceType, id!);
    const { repository, searchEngine } = interactions;
    return repository.transaction(() => {
      const stored = repository.resolveConflict(resourceType, id!, resource, leaves);
      if (!searchEngine.isVisible({ resourceType, id: id! }, request, base)) {
        throw forbidden('outside-access', `This ${resourceType} would be outside your access`);
      }
      repository.create('Provenance', provenanceOf(stored, leaves, request.reach?.[0], repository.nodeId));
      return { status: 200, headers: versionHeaders(stored), body: stored.json, written: stored };
    });
  }
}

/** One conflict: the resource, when it opened, the winner, each leaf with its version, and where they differ. */
function conflictPart(repository: Repository, row: OpenConflict): Json {
  const { resource_type: type, resource_id: id } = row;
  const leaves = repository.leaves(type, id);
  const bodies = Object.fromEntries(leaves.map((leaf) => [leaf, JSON.parse(repository.vread(type, id, leaf)!.json) as Json]));
  const winner = repository.read(type, id)!.versionId;
  return {
    name: 'conflict',
    part: [
      { name: 'target', valueReference: { reference: `${type}/${id}` } },
      { name: 'opened', valueInstant: row.opened_at },
      { name: 'winner', valueId: winner },
      ...leaves.map((leaf) => ({
        name: 'leaf',
        part: [{ name: 'versionId', valueId: leaf }, { name: 'archived', valueBoolean: isArchived(bodies[leaf]) }, { name: 'resource', resource: bodies[leaf] }],
      })),
      ...fieldDiff(bodies).map((difference) => ({
        name: 'difference',
        part: [
          { name: 'path', valueString: difference.path },
          ...leaves.map((leaf) => ({
            name: 'value',
            part: [{ name: 'versionId', valueId: leaf }, ...(difference.values[leaf] === undefined ? [] : [{ name: 'json', valueString: JSON.stringify(difference.values[leaf]) }])],
          })),
        ],
      })),
    ],
  };
}

function readResolution(body: unknown, type: string, id: string): { resource: Json; leaves: string[] } {
  const parameters = body as { resourceType?: unknown; parameter?: unknown } | undefined;
  if (parameters?.resourceType !== 'Parameters' || !Array.isArray(parameters.parameter)) {
    throw badRequest('resolve-invalid', 'Send a Parameters with the resolved `resource` and one `leaf` (valueId) per version of the conflict');
  }
  const list = parameters.parameter as Array<{ name?: unknown; resource?: unknown; valueId?: unknown }>;
  const resource = list.find((parameter) => parameter?.name === 'resource')?.resource as Json | undefined;
  if (typeof resource !== 'object' || resource === null || resource.resourceType !== type) throw badRequest('resolve-invalid', `The \`resource\` parameter must be the resolved ${type}`, 'resource');
  if (resource.id !== id) throw badRequest('resolve-invalid', `The resolved resource's id must be '${id}'`, 'resource.id');
  const leaves = list.filter((parameter) => parameter?.name === 'leaf').map((parameter) => parameter.valueId);
  if (leaves.length < 2 || !leaves.every((leaf): leaf is string => typeof leaf === 'string')) throw badRequest('resolve-invalid', 'Name every version of the conflict you resolve: one `leaf` (valueId) each', 'leaf');
  return { resource, leaves };
}

/** Who resolved, what from: the resolution's own record, replicated like any resource. */
function provenanceOf(stored: { resourceType: string; id: string; versionId: string; lastUpdated: string }, leaves: readonly string[], actor: readonly [string, string] | undefined, nodeId: string): Json {
  const url = `${stored.resourceType}/${stored.id}`;
  return {
    resourceType: 'Provenance',
    target: [{ reference: `${url}/_history/${stored.versionId}` }],
    recorded: stored.lastUpdated,
    activity: { system: 'http://hl7.org/fhir/v3/DataOperation', code: 'UPDATE', display: 'sync conflict resolved' },
    agent: [actor ? { whoReference: { reference: `${actor[0]}/${actor[1]}` } } : { whoUri: `urn:uuid:${nodeId}` }],
    entity: leaves.map((leaf) => ({ role: 'revision', whatReference: { reference: `${url}/_history/${leaf}` } })),
  };
}
