import { extname, join, normalize, sep } from 'node:path';

/**
 * The renderer is served from `app://liaison/…` (app-protocol.ts), mapped here onto the built renderer folder:
 * never outside it, and unknown paths without an extension fall back to index.html (client-side routes).
 */

export const APP_SCHEME = 'app';
export const APP_HOST = 'liaison';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

/**
 * The window's Content-Security-Policy, sent with every app:// response: the app's own scripts and styles only,
 * calls to the local node only, no framing, no plugins, no forms posting elsewhere.
 */
export const APP_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  // Vue sets style attributes at run time.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  // FullCalendar's CSS carries its arrow icons as a data: font; a font cannot run code.
  "font-src 'self' data:",
  "connect-src 'self' http://127.0.0.1:*",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.map': 'application/json',
};

export type AppFile = { path: string; contentType: string } | { notFound: true };

export function resolveAppFile(requestUrl: string, rendererRoot: string): AppFile {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return { notFound: true };
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return { notFound: true };
  let pathname: string;
  try {
    pathname = decodeURIComponent(url.pathname);
  } catch {
    return { notFound: true };
  }
  if (pathname.includes('\0')) return { notFound: true };
  const extension = extname(pathname);
  const relative = pathname === '/' || extension === '' ? 'index.html' : pathname;
  const root = normalize(rendererRoot + sep);
  const path = normalize(join(root, relative));
  if (!path.startsWith(root)) return { notFound: true };
  const contentType = CONTENT_TYPES[extname(path)];
  return contentType ? { path, contentType } : { notFound: true };
}
