import { protocol } from 'electron';
import { readFile } from 'node:fs/promises';
import { APP_CONTENT_SECURITY_POLICY, APP_SCHEME, resolveAppFile } from './app-protocol-files';

/** Must run before the app is ready: app:// is a standard, secure origin that may use fetch. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

/** Serves the built renderer at app://liaison/ with the app's Content-Security-Policy. */
export function serveRenderer(rendererRoot: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const file = resolveAppFile(request.url, rendererRoot);
    if ('notFound' in file || request.method !== 'GET') return new Response('Not found', { status: 404 });
    try {
      return new Response(await readFile(file.path), {
        headers: {
          'content-type': file.contentType,
          'content-security-policy': APP_CONTENT_SECURITY_POLICY,
          'x-content-type-options': 'nosniff',
        },
      });
    } catch {
      return new Response('Not found', { status: 404 });
    }
  });
}
