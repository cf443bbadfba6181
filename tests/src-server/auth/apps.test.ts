import { describe, expect, it } from 'vitest';
import { redirectUriAllowed } from '../../../src-server/auth/apps';
import { runCli } from '../../helpers/child-node';
import { useTestNode } from '../../helpers/node';
import { clientToken } from '../../helpers/users';

/**
 * Apps (auth/apps.ts): software whose users log in through the node, registered by an admin through the admin API
 * and `liaison apps`, with exact redirect URIs (loopback on any port, RFC 8252 §7.3), public or confidential.
 */

type Json = Record<string, any>;

const node = useTestNode();

async function admin(path: string, init: RequestInit & { json?: unknown; token?: string } = {}): Promise<{ status: number; body: Json }> {
  const { json, token, ...rest } = init;
  const response = await fetch(`${node().url}/admin/${path}`, {
    ...rest,
    headers: { authorization: `Bearer ${token ?? node().token}`, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

const anApp = { name: 'Téléexpertise', redirectUris: ['https://tele.example/callback', 'http://127.0.0.1/callback'], public: false, scopes: ['PATIENT_READ', 'PATIENT_SEARCH'] };

describe('apps', () => {
  it('are registered by an admin: a confidential app gets its secret once, stored hashed, never listed', async () => {
    const created = await admin('apps', { method: 'POST', json: anApp });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = node().db.prepare('SELECT secret_hash, role FROM oauth_clients WHERE client_id = ?').get(created.body.client_id) as Json;
    expect(stored.role).toBe('app');
    expect(stored.secret_hash).not.toContain(created.body.client_secret);
    expect(stored.secret_hash).toMatch(/^[0-9a-f]+:[0-9a-f]+$/);
    const listed = await admin('apps');
    expect(JSON.stringify(listed.body)).not.toContain(created.body.client_secret);
    expect(listed.body.apps).toContainEqual(expect.objectContaining({ clientId: created.body.client_id, ...anApp }));
    // Not an API client: it is not listed there, and cannot get a token of its own by client credentials.
    expect(JSON.stringify((await admin('clients')).body)).not.toContain(created.body.client_id);
    const own = await fetch(`${node().url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: created.body.client_id, client_secret: created.body.client_secret }),
    });
    expect(own.status).toBe(401);
  });

  it('a public app has no secret', async () => {
    const created = await admin('apps', { method: 'POST', json: { ...anApp, public: true } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ client_id: expect.any(String) });
  });

  it.each([
    ['http://tele.example/callback', 'https://'],
    ['http://localhost:3000/callback', 'https://'],
    ['https://tele.example/callback#frag', 'fragment'],
    ['https://user:pw@tele.example/callback', 'credentials'],
    ['/callback', 'absolute'],
  ])('refuses the redirect URI %s (400)', async (uri, why) => {
    const refused = await admin('apps', { method: 'POST', json: { ...anApp, redirectUris: [uri] } });
    expect(refused.status).toBe(400);
    expect(refused.body.issue[0].diagnostics).toContain(why);
    expect(refused.body.issue[0].details.coding[0].code).toBe('app-redirect-uri-invalid');
    expect(refused.body.issue[0].expression).toEqual(['redirectUris']);
  });

  it('refuses scopes an app may not ask for, and a missing public flag', async () => {
    const codeOf = async (json: object) => {
      const refused = await admin('apps', { method: 'POST', json });
      expect(refused.status).toBe(400);
      return refused.body.issue[0].details.coding[0].code as string;
    };
    expect(await codeOf({ ...anApp, scopes: ['SYNC'] })).toBe('app-scope-not-allowed');
    expect(await codeOf({ ...anApp, scopes: ['*'] })).toBe('client-scopes-invalid');
    expect(await codeOf({ ...anApp, scopes: ['NOPE_READ'] })).toBe('client-scopes-invalid');
    const { public: _public, ...noFlag } = anApp;
    expect(await codeOf(noFlag)).toBe('app-kind-invalid');
    expect(await codeOf({ ...anApp, redirectUris: [] })).toBe('app-redirect-uris-count');
  });

  it('are managed by admins only', async () => {
    const token = await clientToken(node(), { scopes: ['PATIENT_READ'] });
    expect((await admin('apps', { token })).status).toBe(403);
    expect((await admin('apps', { method: 'POST', json: anApp, token })).status).toBe(403);
  });

  it('match a redirect URI exactly, and a loopback one on any port', () => {
    const registered = ['https://tele.example/callback', 'http://127.0.0.1/cb', 'http://[::1]:4000/cb'];
    expect(redirectUriAllowed(registered, 'https://tele.example/callback')).toBe(true);
    expect(redirectUriAllowed(registered, 'https://tele.example/callback/')).toBe(false);
    expect(redirectUriAllowed(registered, 'https://tele.example:444/callback')).toBe(false);
    expect(redirectUriAllowed(registered, 'https://tele.example/callback?x=1')).toBe(false);
    expect(redirectUriAllowed(registered, 'http://127.0.0.1:53122/cb')).toBe(true);
    expect(redirectUriAllowed(registered, 'http://[::1]:61000/cb')).toBe(true);
    expect(redirectUriAllowed(registered, 'http://127.0.0.1:53122/other')).toBe(false);
    expect(redirectUriAllowed(registered, 'http://localhost:53122/cb')).toBe(false);
    expect(redirectUriAllowed(registered, 'http://127.0.0.1.evil.example:53122/cb')).toBe(false);
  });

  it('are also managed by `liaison apps add|list|disable|remove`, through the node that serves the folder', async () => {
    const cli = (...args: string[]) => runCli(['apps', ...args, '--data', node().dataDir]);
    const added = await cli('add', '--name', 'Labo', '--redirect-uri', 'http://127.0.0.1/callback', '--scope', 'PATIENT_READ', '--public');
    expect(added.code, added.stderr).toBe(0);
    const { client_id: clientId, client_secret: secret } = JSON.parse(added.stdout) as Json;
    expect(secret).toBeUndefined();
    expect((await cli('list')).stdout).toMatch(new RegExp(`${clientId}\\s+public\\s+active\\s+Labo`));
    expect((await cli('disable', clientId)).code).toBe(0);
    expect((await cli('list')).stdout).toMatch(new RegExp(`${clientId}\\s+public\\s+disabled`));
    expect((await cli('remove', clientId)).code).toBe(0);
    expect((await cli('list')).stdout).not.toContain(clientId);
    const refused = await cli('add', '--name', 'x', '--redirect-uri', 'http://evil.example/cb', '--scope', 'PATIENT_READ');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('https://');
  });
});
