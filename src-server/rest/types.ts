import type { ContentRef } from '../fhir/binary-content';
import type { StoredResource } from '../store/repository';
import type { TextMatches } from '../store/search/conditions';
import type { Caller, CallerScopes, ReachReference } from './caller';

/**
 * Which face of the node a request came through: `fhir` (plain STU3 at `/fhir`), or Lifen's `v2`/`v3` (at
 * `/fhir/v2`, `/fhir/v3`), the same node with Lifen's paging and codes (docs/lifen-compatibility.md).
 */
export type Surface = 'fhir' | 'v2' | 'v3';

/** A FHIR REST request, free of HTTP: the same shape serves HTTP routes and the entries of batch/transaction Bundles. */
export interface FhirRequest {
  /** What the caller may do: every interaction checks it (Bundle entries inherit the Bundle's). */
  scopes: CallerScopes;
  /**
   * Whom the caller acts as (a user, a practice): it sees and writes only what the access rules give it
   * (store/search/visibility.ts). Absent: the whole node (the owner client, practice-wide clients). Bundle entries inherit it.
   */
  reach?: readonly ReachReference[];
  /**
   * Who the caller is: the Subscriptions it creates are its own, and of those of others it sees only what its
   * practices' callers created if it is their admin (visibility.ts); a Binary it uploads is its own to name first
   * (documents/document-content-rule.ts). Absent: all of them (the owner client, the
   * node's own work). Bundle entries inherit it.
   */
  caller?: Caller;
  /** What the text index matched for the text filters of the request's searches (resolved before, asynchronously). */
  textMatches?: TextMatches;
  method: string;
  /** Path below the FHIR base, without leading slash or query: `Patient/1/_history/2`, `` for the base. */
  path: string;
  query: URLSearchParams;
  /** The parsed JSON body, when there is one. */
  body?: unknown;
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifNoneExist?: string;
  /** `Prefer: handling=lenient`. */
  lenient?: boolean;
  /** For a create inside a transaction: the id reserved for it, so other entries could reference it. */
  assignedId?: string;
  /** A Binary whose content was streamed into the binary store: the file its version points at. */
  binaryContent?: ContentRef;
  /** How the audit trail names this call, when the FHIR API records its answer (FhirApi); absent for Bundle entries and the node's own calls. */
  audit?: AuditedCall;
  /** The surface it came through; absent: plain FHIR. Bundle entries inherit it. */
  surface?: Surface;
}

/** A call as the audit trail records it: who (the token's client), and the action as the client wrote it. */
export interface AuditedCall {
  clientId: string | undefined;
  method: string;
  /** The request's target as received: `/fhir/Patient?name=…`. */
  url: string;
}

export interface FhirResponse {
  status: number;
  /** The body: JSON text (served as stored, without reparsing) or an object to serialise. */
  body?: string | object;
  headers: Record<string, string>;
  /** The version a create/update produced: `Prefer` decides whether it is returned. */
  written?: StoredResource;
}
