/**
 * Where the node is. In a browser the node serves this page, so its API is on the same origin; in the desktop app
 * the page comes from app://liaison and the preload gives the node's address (asked each time: it may change after
 * a restart).
 */
export async function nodeUrl(path: string): Promise<string> {
  // Bundle links are absolute: keep their path and query, on the node's current address.
  const relative = /^https?:\/\//.test(path) ? ((url) => `${url.pathname}${url.search}`)(new URL(path)) : path;
  const base = window.liaison ? (await window.liaison.nodeAccess()).url : '';
  return `${base}${relative}`;
}

/** The node's full address of a path (to show, or to register somewhere), in a browser and in the desktop app alike. */
export async function absoluteNodeUrl(path: string): Promise<string> {
  return new URL(await nodeUrl(path), window.location.href).href;
}
