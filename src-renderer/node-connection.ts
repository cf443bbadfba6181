/**
 * Where the node is. In a browser the node serves this page, so its API is on the same origin; in the desktop app
 * the page comes from app://liaison and the preload gives the node's address (and a token, when calls need one).
 */
export async function nodeUrl(path: string): Promise<string> {
  const base = window.liaison ? (await window.liaison.nodeAccess()).url : '';
  return `${base}${path}`;
}
