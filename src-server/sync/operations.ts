import { SYNC_SCOPE } from '../auth/scopes';
import { refuseForgedContent } from '../fhir/binary-content';
import { DIRECTORY_TYPES } from '../fhir/directory';
import { badRequest, forbidden, payloadTooLarge, unprocessable } from '../fhir/outcome';
import type { FhirOperation, OperationCall, OperationDescription, WriteContext } from '../rest/extensions';
import type { FhirInteractions } from '../rest/extensions';
import type { FhirRequest } from '../rest/types';
import { Visibility } from '../store/search/visibility';
import { isValidId, type ReplicaResult, type ReplicaVersion } from '../store/repository';
import { applyVersions } from './apply';
import type { ChangeLog, DataKind } from '../store/change-log';
import type { ContentQueue } from './content';
import { changesBundle, entryText, FHIR_VERSION, PageEntries, PROTOCOL_VERSION, readPageSize, readVersions, replicateResponse } from './protocol';

/**
 * The protocol's operations between nodes (docs/sync.md): `$handshake`, `$changes` (pull) and `$replicate` (push).
 * Each needs the SYNC scope; what flows is still bounded by the caller's type scopes and reach, as for any client.
 */

const DEFAULT_PAGE = 100;
/** Versions one `$replicate` call may carry. */
export const MAX_REPLICATE_ENTRIES = 2000;
/** As many as a `$replicate` call: the page a peer stores in one transaction either way. */
const MAX_PAGE = MAX_REPLICATE_ENTRIES;
/** Change-log entries one `$changes` page reads at most for a caller that may not see them all (the page is then short). */
const SCAN_BUDGET = 10_000;

/**
 * `served` lists the recipients this node serves (`Practitioner/<id>`, `Organization/<id>`: its users and practices),
 * told to peers in the handshake so that their documents for them go by the internal channel and come by sync.
 */
export function syncOperations(feed: ChangeLog, nodeId: string, content?: ContentQueue, served: () => readonly string[] = () => []): FhirOperation[] {
  return [
    {
      name: '$handshake',
      level: 'system',
      methods: ['GET'],
      definition: {
        description: "A sync peer's greeting (docs/sync.md): this node's id, protocol and FHIR versions, clock, and the recipients it serves. Needs the SYNC scope.",
        parameters: [
          { name: 'node', use: 'out', min: 1, max: '1', type: 'string' },
          { name: 'protocol', use: 'out', min: 1, max: '1', type: 'string' },
          { name: 'fhirVersion', use: 'out', min: 1, max: '1', type: 'string' },
          { name: 'time', use: 'out', min: 1, max: '1', type: 'instant' },
          { name: 'recipient', use: 'out', min: 0, max: '*', type: 'Reference', documentation: 'A Practitioner or Organization whose documents this node receives' },
        ],
      },
      run: ({ request }) => {
        request.scopes.requireNamed(SYNC_SCOPE, '$handshake');
        const parameter = [
          { name: 'node', valueString: nodeId },
          { name: 'protocol', valueString: PROTOCOL_VERSION },
          { name: 'fhirVersion', valueString: FHIR_VERSION },
          { name: 'time', valueInstant: new Date().toISOString() },
          ...served().map((reference) => ({ name: 'recipient', valueReference: { reference } })),
        ];
        return { status: 200, headers: {}, body: { resourceType: 'Parameters', parameter } };
      },
    },
    { name: '$changes', level: 'system', methods: ['GET'], definition: CHANGES, run: (call) => changes(feed, call) },
    { name: '$replicate', level: 'system', methods: ['POST'], alone: true, definition: REPLICATE, run: (call) => replicate(call, content) },
    {
      name: '$content',
      level: 'system',
      methods: ['POST'],
      definition: CONTENT,
      // The HTTP route streams the upload (http/binary-routes.ts); what reaches here is an entry of a Bundle.
      run: () => {
        throw badRequest('content-in-bundle', '$content takes the content itself as its body: POST it on its own, not in a Bundle');
      },
    },
  ];
}

const CHANGES: OperationDescription = {
  description: 'The versions written after a cursor, in change-log order, those the caller may see (a sync pull, docs/sync.md). Needs the SYNC scope.',
  parameters: [
    { name: 'cursor', use: 'in', min: 0, max: '1', type: 'string', documentation: 'Where the previous page ended (0 by default)' },
    { name: '_count', use: 'in', min: 0, max: '1', type: 'integer', documentation: `Versions a page holds (${DEFAULT_PAGE} by default, ${MAX_PAGE} at most)` },
    { name: 'data', use: 'in', min: 0, max: '1', type: 'code', documentation: 'all (default), records or directory' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle', documentation: 'The versions, and the cursor after them' },
  ],
};

const REPLICATE: OperationDescription = {
  description: "A sync peer's push: a Bundle of versions stored as they are, each entry answered on its own (docs/sync.md). Needs the SYNC scope.",
  parameters: [
    { name: 'sender', use: 'in', min: 0, max: '1', type: 'id', documentation: "The pushing node's id" },
    { name: 'versions', use: 'in', min: 1, max: '1', type: 'Bundle', documentation: `The body: at most ${MAX_REPLICATE_ENTRIES} versions` },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle', documentation: 'One outcome per entry' },
  ],
};

const CONTENT: OperationDescription = {
  description: "A sync peer's upload of Binary content this node awaits after a push, the bytes as the body (docs/sync.md). Needs the SYNC scope and BINARY_CREATE or BINARY_UPDATE; answers 204.",
  parameters: [{ name: 'hash', use: 'in', min: 1, max: '1', type: 'string', documentation: 'The SHA-256 of the content, in lower-case hex' }],
};

/** `GET $changes?cursor=&_count=&data=`: versions after the cursor in change-log order, those the caller may see. */
function changes(feed: ChangeLog, { request, base, interactions }: OperationCall) {
  request.scopes.requireNamed(SYNC_SCOPE, '$changes');
  const cursorText = request.query.get('cursor') ?? '0';
  if (!/^\d{1,15}$/.test(cursorText)) throw badRequest('sync-cursor-invalid', `'${cursorText}' is not a cursor of this node`, 'cursor');
  const count = readPageSize(request.query.get('_count'), DEFAULT_PAGE, MAX_PAGE);
  const kind = readKind(request.query.get('data'));
  const visible = visibilityOf(request, base, interactions);
  const page = new PageEntries();
  const { entries } = page;
  let cursor = Number(cursorText);
  let more = true;
  let full = false;
  for (let scanned = 0; entries.length < count && scanned < SCAN_BUDGET && !full; ) {
    const wanted = count - entries.length;
    const rows = feed.after(cursor, wanted, kind);
    for (const row of rows) {
      const sent = request.scopes.allows(row.resource_type, 'READ') && visible(row.resource_type, row.resource_id);
      if (sent && !page.add(entryText(row, base))) {
        full = true;
        break;
      }
      cursor = row.seq;
      scanned++;
    }
    if (!full && rows.length < wanted) {
      more = false;
      break;
    }
  }
  const query = (at: number) => `${base}/$changes?${new URLSearchParams({ cursor: String(at), _count: String(count), data: kind })}`;
  const links = [{ relation: 'self', url: query(Number(cursorText)) }];
  if (more) links.push({ relation: 'next', url: query(cursor) });
  return { status: 200, headers: {}, body: changesBundle(entries, String(cursor), links) };
}

/**
 * Whether the caller sees a resource, by its current version (as `_history` does), asked once per resource and page.
 * Everything for a caller the access rules do not restrict (the owner client).
 */
function visibilityOf(request: FhirRequest, base: string, interactions: FhirInteractions): (type: string, id: string) => boolean {
  if (!request.reach && !request.caller) return () => true;
  const verdicts = new Map<string, boolean>();
  return (resourceType, id) => {
    if (!Visibility.restricts(request, resourceType)) return true;
    const key = `${resourceType}/${id}`;
    let verdict = verdicts.get(key);
    if (verdict === undefined) verdicts.set(key, (verdict = interactions.searchEngine.isVisible({ resourceType, id }, request, base)));
    return verdict;
  };
}

/**
 * `POST $replicate?sender=<node id>`: stores a Bundle of versions as they are, idempotently, each entry on its own;
 * answers one outcome per entry. A peer writes what its scopes allow (CREATE for a new resource, UPDATE for one this
 * node has) within its reach, naming only what the API's write rules let it name (FhirInteractions.replicaRules);
 * directory data is refused: it comes only from a directory peer, by pull. An entry of a Binary whose content this
 * node lacks says so (`sync-content` `missing`): the sender uploads it (`POST $content`).
 */
function replicate({ request, base, interactions }: OperationCall, content: ContentQueue | undefined) {
  request.scopes.requireNamed(SYNC_SCOPE, '$replicate');
  const sender = request.query.get('sender') ?? undefined;
  if (sender !== undefined && !isValidId(sender)) throw badRequest('node-id-invalid', `'${sender}' is not a node id`, 'sender');
  const entries = readVersions(request.body);
  if (entries.length > MAX_REPLICATE_ENTRIES) throw payloadTooLarge('replicate-too-many', `$replicate takes at most ${MAX_REPLICATE_ENTRIES} versions a call, not ${entries.length}`);
  const { repository, searchEngine, replicaRules } = interactions;
  const { reach } = request;
  const context = { request, base, interactions };
  const outcomes = applyVersions(repository, entries, {
    receivedFrom: sender,
    content,
    // What a version may name goes first: a page may hold a document and its content in any order.
    rank: (resourceType) => replicaRules.rank(resourceType),
    admit: (version) => {
      const { resourceType, id } = version;
      if (DIRECTORY_TYPES.has(resourceType)) throw forbidden('replica-not-allowed', `${resourceType} is directory data: it comes from a directory peer, by pull`);
      // A Binary naming a content file here could point at another practice's document: only a peer without a reach may.
      if (reach && resourceType === 'Binary') refuseForgedContent(version.resource);
      const exists = repository.exists(resourceType, id);
      request.scopes.require(resourceType, exists ? 'UPDATE' : 'CREATE');
      // One that belongs to its creator is written through the API, whose rules check it: only the owner client copies them.
      if (request.caller && Visibility.isOwned(resourceType)) throw forbidden('replica-not-allowed', `A ${resourceType} belongs to the caller who created it through the API: a peer's client does not replicate one`);
      if (exists && !searchEngine.isVisible({ resourceType, id }, request, base)) throw forbidden('outside-access', `${resourceType}/${id} is outside your access`);
      // The API's rules on what a writer may name (a document only a Binary its writer reads…): a peer may not get round them.
      replicaRules.check(version, context);
    },
    check: reach && ((version, result) => checkWithinReach(version, result, context)),
  });
  return { status: 200, headers: {}, body: replicateResponse(outcomes) };
}

/**
 * A caller with a reach stores only versions it may see, and nothing this node would keep aside unchecked. As through
 * the API, a new Binary is the exception while nothing names it: it is seen through the DocumentReference that names
 * it, which only the peer that pushed it may name first (documents/document-content-rule.ts), so the peer is recorded
 * as its creator.
 */
function checkWithinReach(version: ReplicaVersion, result: ReplicaResult, context: WriteContext): void {
  if (result.outcome === 'deferred') throw unprocessable('replica-deferred', `${version.resourceType}/${version.id} cannot be stored by this node: ${result.reason}`);
  const stored = result.stored;
  if (!stored) return;
  const { resourceType, id } = version;
  const { request, base, interactions } = context;
  const { repository, searchEngine } = interactions;
  if (result.first) interactions.recordCreator(resourceType, id, request);
  if (interactions.replicaRules.claimable(resourceType, id, context)) return;
  const visible = repository.read(resourceType, id)?.versionId === stored.versionId ? searchEngine.isVisible({ resourceType, id }, request, base) : searchEngine.isVersionVisible(stored, request, base);
  if (!visible) throw forbidden('outside-access', `This version of ${resourceType}/${id} would be outside your access`);
}


function readKind(raw: string | null): DataKind {
  if (raw === null) return 'all';
  if (raw === 'all' || raw === 'records' || raw === 'directory') return raw;
  throw badRequest('sync-data-invalid', `data must be all, records or directory, not '${raw}'`, 'data');
}
