import { nodeUrl } from '../node-connection';
import { useConnectionStore } from '../stores/connection';
import { useSessionStore } from '../stores/session';
import { errorOf, FhirApiError, FhirClient, NodeUnreachableError } from './fhir-client';

/** A call as the logged-in user; one that finds nobody there has the connection checked at once. */
async function asUser(path: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await useSessionStore().fetchAsUser(path, init);
  } catch (error) {
    if (!(error instanceof DOMException && error.name === 'AbortError')) useConnectionStore().callFailed();
    throw error;
  }
}

/** The FHIR client every store uses: calls go out as the logged-in user. */
export const fhir = new FhirClient(asUser);

type Send = (path: string, init: RequestInit) => Promise<Response>;

async function json<T>(send: Send, path: string, init: RequestInit): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set('accept', 'application/json');
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  let response: Response;
  try {
    response = await send(path, { ...init, headers });
  } catch (error) {
    throw new NodeUnreachableError(error);
  }
  if (!response.ok) throw await errorOf(response);
  return (await response.json()) as T;
}

/** The node's JSON APIs outside FHIR (`/admin/…`, `/health`), as the user; errors as the FHIR client's. */
export function nodeJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  return json<T>(asUser, path, init);
}

/** The node's JSON APIs for whoever is not logged in yet (`/auth/config`, `/setup`, `/auth/password`): no token. */
export function anonymousJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  return json<T>(async (target, request) => fetch(await nodeUrl(target), request), path, init);
}

/** Where a screen's section stands. `unavailable`: the node has no such API (yet); `forbidden`: the user is no admin. */
export type Availability = 'loading' | 'ready' | 'forbidden' | 'unavailable' | 'error';

/** What a failed load means for its section: 403 is “not for you”, 404/405 “not on this node”, the rest an error. */
export function availabilityOf(error: unknown): Availability {
  if (error instanceof FhirApiError && error.status === 403) return 'forbidden';
  if (error instanceof FhirApiError && (error.status === 404 || error.status === 405)) return 'unavailable';
  return 'error';
}
