/**
 * Which addresses the app may open in the system browser. The window itself never navigates away from the app;
 * links to these go to the user's browser, anything else is refused.
 */

/** Sites a practice is sent to from the app (https only, exact host names). */
export const EXTERNAL_HOSTS: ReadonlySet<string> = new Set([
  'annuaire.sante.fr', // the national directory of health professionals (RPPS)
  'esante.gouv.fr',
  'www.esante.gouv.fr',
  'industriels.esante.gouv.fr',
  'www.ameli.fr',
]);

/** Paths of the node opened in the browser: the login through the system browser (loopback redirect). */
const NODE_BROWSER_PATHS = ['/auth/'];

export interface ExternalLinkContext {
  /** The running node (`http://127.0.0.1:<port>`), if any. */
  nodeUrl?: string;
  hosts?: ReadonlySet<string>;
}

export function isAllowedExternalUrl(candidate: unknown, context: ExternalLinkContext = {}): boolean {
  if (typeof candidate !== 'string' || candidate.length > 2048) return false;
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  if (url.protocol === 'https:' && (context.hosts ?? EXTERNAL_HOSTS).has(url.hostname)) return true;
  if (context.nodeUrl && url.origin === new URL(context.nodeUrl).origin) return NODE_BROWSER_PATHS.some((path) => url.pathname.startsWith(path));
  return false;
}
