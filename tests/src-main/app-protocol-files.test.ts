import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_CONTENT_SECURITY_POLICY, resolveAppFile } from '../../src-main/app-protocol-files';

const root = '/opt/liaison/out/renderer';

describe('resolveAppFile', () => {
  it('maps app://liaison paths onto the renderer folder with their content type', () => {
    expect(resolveAppFile('app://liaison/index.html', root)).toEqual({ path: join(root, 'index.html'), contentType: 'text/html; charset=utf-8' });
    expect(resolveAppFile('app://liaison/assets/index-abc.js', root)).toEqual({ path: join(root, 'assets/index-abc.js'), contentType: 'text/javascript; charset=utf-8' });
  });

  it('answers client-side routes with index.html', () => {
    expect(resolveAppFile('app://liaison/', root)).toMatchObject({ path: join(root, 'index.html') });
    expect(resolveAppFile('app://liaison/patients/123?tab=documents', root)).toMatchObject({ path: join(root, 'index.html') });
  });

  it('keeps dot segments inside the renderer folder (the URL parser folds them at its root)', () => {
    expect(resolveAppFile('app://liaison/%2e%2e/%2e%2e/main/index.js', root)).toMatchObject({ path: join(root, 'main/index.js') });
  });

  it.each([
    ['an encoded separator traversal', 'app://liaison/..%2f..%2fmain%2findex.js'],
    ['a NUL byte', 'app://liaison/index.html%00.png'],
    ['another host', 'app://evil/index.html'],
    ['another scheme', 'file:///opt/liaison/out/renderer/index.html'],
    ['an unknown file type', 'app://liaison/secrets.db'],
    ['a malformed escape', 'app://liaison/%E0%A4%A.js'],
  ])('refuses %s', (_why, url) => {
    expect(resolveAppFile(url, root)).toEqual({ notFound: true });
  });
});

describe('the app Content-Security-Policy', () => {
  it('allows only the app itself and the local node', () => {
    const directives = Object.fromEntries(APP_CONTENT_SECURITY_POLICY.split('; ').map((directive) => [directive.split(' ')[0], directive.split(' ').slice(1)]));
    expect(directives['default-src']).toEqual(["'none'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['connect-src']).toEqual(["'self'", 'http://127.0.0.1:*']);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(APP_CONTENT_SECURITY_POLICY).not.toContain('unsafe-eval');
  });
});
