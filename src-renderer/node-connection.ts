/**
 * Where the node is. In a browser the node serves this page, so its API is on the same origin; in the desktop app
 * the page comes from app://liaison and the preload gives the node's address.
 */
export async function nodeUrl(path: string): Promise<string> {
  const base = window.liaison ? (await window.liaison.nodeAccess()).url : '';
  return `${base}${path}`;
}

/**
 * A call to the node's API as the logged-in user: the desktop app's main process holds the session and hands out
 * a fresh access token each time (asked per call, never kept here). Without a session the call goes out
 * unauthenticated, and the node answers 401.
 */
export async function apiFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const session = window.liaison ? await window.liaison.session() : null;
  const headers = new Headers(init.headers);
  if (session) headers.set('authorization', `Bearer ${session.accessToken}`);
  return fetch(await nodeUrl(path), { ...init, headers });
}
