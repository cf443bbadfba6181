import { FhirError, notFound, unprocessable } from '../fhir/outcome';
import type { CompletedWrite, FhirOperation, PendingWrite, WriteRule } from '../rest/extensions';
import { isResourceType } from '../fhir/validation/model';
import { newSecret } from './signature';
import type { SubscriptionStore } from './subscription-store';

/**
 * What the API accepts as a Subscription (docs/subscriptions.md), checked inside the write's transaction:
 * - `criteria` is a search of a resource type its writing caller may read, valid for this node;
 * - the channel is a `rest-hook` to this machine (the node never calls out to the network), with a JSON payload or
 *   none, and well-formed extra headers, which the node keeps outside the resource (an update without them keeps them,
 *   unless it points the channel at another endpoint: the headers hold the old endpoint's credentials);
 * - a client writes `requested` or `off` (STU3): the node makes `requested` `active`, and sets `error` itself.
 * Its notifications carry only what the caller that last wrote it may see. Who may see and write it at all is the access rules'
 * business (store/search/visibility.ts): it belongs to the caller who created it.
 */

type Json = Readonly<Record<string, unknown>>;

export const PAYLOAD_TYPES: ReadonlySet<string> = new Set(['application/fhir+json', 'application/json+fhir', 'application/json']);
/** Headers the node sets on every notification: a subscription's own headers cannot replace them. */
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'host', 'connection', 'transfer-encoding', 'webhook-id', 'webhook-timestamp', 'webhook-signature']);
const HEADER = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n]*)$/;
const LOOPBACK = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;
/** Parameters that shape a result rather than select resources: matching ignores them. */
export const SHAPING_PARAMETERS = ['_count', '_sort', '_include', '_revinclude', '_summary', '_elements', '_total', '_cursor', '_contained', '_containedType'];

export interface Criteria {
  resourceType: string;
  params: URLSearchParams;
}

/** `Type?query` → the type and its parameters, the shaping ones left out; undefined when it is not of that form. */
export function parseCriteria(criteria: unknown): Criteria | undefined {
  if (typeof criteria !== 'string') return undefined;
  const [resourceType, query = ''] = criteria.replace(/^\//, '').split(/\?(.*)/s);
  if (!isResourceType(resourceType)) return undefined;
  const params = new URLSearchParams(query);
  for (const name of SHAPING_PARAMETERS) params.delete(name);
  return { resourceType, params };
}

/** The `Name: value` lines of a channel's header, as a record. */
export function channelHeaders(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const match = HEADER.exec(line);
    if (match) headers[match[1].toLowerCase()] = match[2];
  }
  return headers;
}

export function subscriptionRule(store: SubscriptionStore): WriteRule {
  return { types: ['Subscription'], before: checkSubscription, after: (write) => acceptSubscription(write, store) };
}

function checkSubscription(write: PendingWrite): void {
  const { resource, request, base } = write;
  const previousStatus = write.previousResource?.status;
  if (resource.status !== 'requested' && resource.status !== 'off' && resource.status !== previousStatus) {
    throw unprocessable('subscription-status-invalid', `A client creates a Subscription as 'requested' (or 'off'), not '${String(resource.status)}': the node sets it active, or in error`, 'Subscription.status');
  }
  const criteria = parseCriteria(resource.criteria);
  if (!criteria) throw unprocessable('subscription-criteria-invalid', `The criteria '${String(resource.criteria)}' must be a search such as 'Appointment?actor=Practitioner/123'`, 'Subscription.criteria');
  // Notifications carry the resources: the owner must be allowed to read them.
  request.scopes.require(criteria.resourceType, 'READ');
  try {
    write.interactions.searchEngine.check({ resourceType: criteria.resourceType, params: new URLSearchParams(criteria.params), lenient: false, base, access: request.scopes, reach: request.reach, caller: request.caller });
  } catch (error) {
    if (error instanceof FhirError && error.status === 400) throw unprocessable('subscription-criteria-invalid', `The criteria are not a valid search here: ${error.message}`, 'Subscription.criteria');
    throw error;
  }
  checkChannel((resource.channel ?? {}) as Json, base);
  if (write.writeOnly) checkHeader(write.writeOnly.channelHeader);
}

function checkChannel(channel: Json, base: string): void {
  if (channel.type !== 'rest-hook') throw unprocessable('subscription-channel-unsupported', `Only the 'rest-hook' channel is supported, not '${String(channel.type)}'`, 'Subscription.channel.type');
  let endpoint: URL;
  try {
    endpoint = new URL(String(channel.endpoint));
  } catch {
    throw unprocessable('subscription-endpoint-invalid', `The endpoint '${String(channel.endpoint)}' is not an absolute http URL`, 'Subscription.channel.endpoint');
  }
  if ((endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') || !LOOPBACK.test(endpoint.hostname)) {
    throw unprocessable('subscription-endpoint-invalid', `The endpoint must be on this machine (http://127.0.0.1:<port>/…, http://localhost…): the node never calls out to the network`, 'Subscription.channel.endpoint');
  }
  if (endpoint.username || endpoint.password) throw unprocessable('subscription-endpoint-invalid', 'The endpoint may not carry credentials: put them in channel.header', 'Subscription.channel.endpoint');
  // Any loopback name of this node's port is the node itself.
  if (portOf(endpoint) === portOf(new URL(base))) throw unprocessable('subscription-endpoint-invalid', 'The endpoint is this node itself', 'Subscription.channel.endpoint');
  if (channel.payload !== undefined && !PAYLOAD_TYPES.has(String(channel.payload))) {
    throw unprocessable('subscription-payload-invalid', `The payload is application/fhir+json, or none; not '${String(channel.payload)}'`, 'Subscription.channel.payload');
  }
}

/** `channel.header` as the client sent it (the API took it out of the body): `Name: value` lines; `[]` removes them. */
function checkHeader(header: unknown): void {
  if (!Array.isArray(header)) throw unprocessable('subscription-header-invalid', 'channel.header is a list of \'Name: value\' lines', 'Subscription.channel.header');
  for (const line of header as unknown[]) {
    const match = typeof line === 'string' ? HEADER.exec(line) : null;
    // The line itself is not repeated: it may hold a credential.
    if (!match) throw unprocessable('subscription-header-invalid', `A header is not of the form 'Name: value'`, 'Subscription.channel.header');
    if (RESERVED_HEADERS.has(match[1].toLowerCase())) throw unprocessable('subscription-header-invalid', `The header ${match[1]} is set by the node`, 'Subscription.channel.header');
  }
}

const endpointOf = (subscription: Json | undefined) => (subscription?.channel as Json | undefined)?.endpoint;

const portOf = (url: URL) => url.port || (url.protocol === 'https:' ? '443' : '80');

function acceptSubscription(write: CompletedWrite, store: SubscriptionStore): void {
  const { id, resource, request, base } = write;
  // Checked before the write (checkHeader); absent: the header stays as it was, unless the endpoint changes, so that
  // whoever may edit a colleague's subscription cannot send its credentials to an endpoint of their own.
  const header = (write.writeOnly?.channelHeader as string[] | undefined) ?? (endpointOf(write.previousResource) !== endpointOf(resource) ? [] : undefined);
  store.recordWrite(id, { reach: request.reach, caller: request.caller, base }, header, newSecret);
  if (resource.status === 'requested') {
    const { error: _error, ...accepted } = resource;
    write.interactions.repository.update('Subscription', id, { ...accepted, status: 'active' });
  } else if (resource.status === 'off') {
    store.dropQueued(id);
  }
}

/**
 * `GET Subscription/<id>/$secret`: the key that signs its notifications, for whoever may see the subscription (its
 * creator, their practice's admins, the owner client: the instance's reading rules already applied). `POST`
 * replaces it with a new one and returns that.
 */
export function secretOperation(store: SubscriptionStore): FhirOperation {
  return {
    name: '$secret',
    level: 'instance',
    types: ['Subscription'],
    methods: ['GET', 'POST'],
    definition: {
      description: "The key that signs the subscription's notifications, for whoever may see the subscription; POST replaces it with a new one (needs SUBSCRIPTION_UPDATE).",
      parameters: [{ name: 'secret', use: 'out', min: 1, max: '1', type: 'string' }],
    },
    run: ({ id, request }) => {
      const record = store.record(id!);
      if (!record) throw notFound('subscription-secret-unknown', `Subscription/${id} was not written through this node's API: it has no secret here`);
      let secret = record.secret;
      if (request.method === 'POST') {
        request.scopes.require('Subscription', 'UPDATE');
        store.setSecret(id!, (secret = newSecret()));
      }
      return { status: 200, headers: { 'cache-control': 'no-store' }, body: { resourceType: 'Parameters', parameter: [{ name: 'secret', valueString: secret }] } };
    },
  };
}
