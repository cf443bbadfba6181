import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaVersion } from '../../../src-server/store/migrations';
import { startTestNode, tempDir, type TestNode } from '../../helpers/node';

type Json = Record<string, any>;

/** Everything the node logs, at the most verbose level: secrets must never appear in it. */
const logLines: string[] = [];
const logStream = new Writable({
  write(chunk, _encoding, callback) {
    logLines.push(chunk.toString());
    callback();
  },
});

let node: TestNode;
let credentials: { client_id: string; client_secret: string };
beforeAll(async () => {
  node = await startTestNode({ logger: { level: 'trace', stream: logStream } });
  credentials = JSON.parse(readFileSync(node.ownerClientFile, 'utf8'));
});
afterAll(async () => {
  await node.stop();
});

const token = (body: string | URLSearchParams, headers: Record<string, string> = {}) =>
  fetch(`${node.url}/oauth/token`, { method: 'POST', body, headers });

describe('owner client', () => {
  it('is written on first start to owner-client.json, readable only by the owner', () => {
    expect(node.ownerClientFile).toBe(`${node.dataDir}/owner-client.json`);
    expect(statSync(node.ownerClientFile).mode & 0o777).toBe(0o600);
    expect(Object.keys(credentials).sort()).toEqual(['client_id', 'client_secret']);
    expect(Buffer.from(credentials.client_secret, 'base64url').length).toBeGreaterThanOrEqual(32);
  });

  it('is kept across restarts of the same data directory, and its secret is stored hashed', async () => {
    const dataDir = tempDir();
    const first = await startTestNode({ dataDir });
    const before = readFileSync(first.ownerClientFile, 'utf8');
    await first.stop();
    const second = await startTestNode({ dataDir });
    expect(readFileSync(second.ownerClientFile, 'utf8')).toBe(before);
    const { client_secret: secret } = JSON.parse(before);
    const stored = second.db.prepare("SELECT secret_hash FROM oauth_clients WHERE role = 'owner'").all() as Array<{ secret_hash: string }>;
    expect(stored).toHaveLength(1);
    expect(stored[0].secret_hash).not.toContain(secret);
    await second.stop();
  });
});

describe('POST /oauth/token (client credentials)', () => {
  it('issues a bearer token from a form body, a JSON body or HTTP Basic', async () => {
    const form = await token(new URLSearchParams({ grant_type: 'client_credentials', ...credentials }));
    const json = await token(JSON.stringify({ grant_type: 'client_credentials', ...credentials }), { 'content-type': 'application/json' });
    const basic = await token(new URLSearchParams({ grant_type: 'client_credentials' }), {
      authorization: `Basic ${Buffer.from(`${credentials.client_id}:${credentials.client_secret}`).toString('base64')}`,
    });
    // The scheme's case does not matter (RFC 7235 §2.1).
    const lowerCaseBasic = await token(new URLSearchParams({ grant_type: 'client_credentials' }), {
      authorization: `basic ${Buffer.from(`${credentials.client_id}:${credentials.client_secret}`).toString('base64')}`,
    });
    for (const response of [form, json, basic, lowerCaseBasic]) {
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const body = (await response.json()) as Json;
      expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: '*' });
      expect(Buffer.from(body.access_token, 'base64url').length).toBeGreaterThanOrEqual(32);
      expect((await fetch(`${node.fhir}/Patient`, { headers: { authorization: `Bearer ${body.access_token}` } })).status).toBe(200);
    }
  });

  it('stores tokens only as SHA-256 hashes', async () => {
    const { access_token: accessToken } = (await (await token(new URLSearchParams({ grant_type: 'client_credentials', ...credentials }))).json()) as Json;
    const hashes = (node.db.prepare('SELECT token_hash FROM oauth_tokens').all() as Array<{ token_hash: string }>).map((row) => row.token_hash);
    expect(hashes).toContain(createHash('sha256').update(accessToken).digest('hex'));
    expect(hashes).not.toContain(accessToken);
  });

  it('refuses wrong secrets, unknown clients and other grants with OAuth errors', async () => {
    const wrong = await token(new URLSearchParams({ grant_type: 'client_credentials', client_id: credentials.client_id, client_secret: 'guess' }));
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as Json).error).toBe('invalid_client');
    const unknown = await token(new URLSearchParams({ grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'x' }));
    expect(unknown.status).toBe(401);
    const missing = await token(new URLSearchParams({ grant_type: 'client_credentials' }));
    expect(missing.status).toBe(401);
    const password = await token(new URLSearchParams({ grant_type: 'password', username: 'a', password: 'b' }));
    expect(password.status).toBe(400);
    expect(((await password.json()) as Json).error).toBe('unsupported_grant_type');
    const badBasic = await token(new URLSearchParams({ grant_type: 'client_credentials' }), { authorization: `Basic ${Buffer.from('%E0%A4%A:x').toString('base64')}` });
    expect(badBasic.status).toBe(401);
  });
});

describe('bearer authentication on /fhir', () => {
  it('answers 401 with an OperationOutcome without a token, with a forged, expired or malformed one', async () => {
    const { access_token: expiring } = (await (await token(new URLSearchParams({ grant_type: 'client_credentials', ...credentials }))).json()) as Json;
    node.db.prepare('UPDATE oauth_tokens SET expires_at = 0 WHERE token_hash = ?').run(createHash('sha256').update(expiring).digest('hex'));
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: `Bearer ${'A'.repeat(43)}` },
      { authorization: `Bearer ${expiring}` },
      { authorization: 'Bearer' },
      { authorization: `Basic ${Buffer.from(`${credentials.client_id}:${credentials.client_secret}`).toString('base64')}` },
    ];
    for (const headers of attempts) {
      for (const path of ['Patient', 'Patient/1', '_history']) {
        const response = await fetch(`${node.fhir}/${path}`, { headers });
        expect(response.status, JSON.stringify(headers)).toBe(401);
        expect(response.headers.get('www-authenticate')).toBe('Bearer');
        expect(((await response.json()) as Json).resourceType).toBe('OperationOutcome');
      }
      const write = await fetch(`${node.fhir}/Patient`, { method: 'POST', headers: { ...headers, 'content-type': 'application/fhir+json' }, body: '{"resourceType":"Patient"}' });
      expect(write.status).toBe(401);
    }
    expect((node.db.prepare('SELECT count(*) AS n FROM resource_versions').get() as { n: number }).n).toBe(0);
  });

  it('leaves metadata and /health open', async () => {
    expect((await fetch(`${node.fhir}/metadata`)).status).toBe(200);
    const health = (await (await fetch(`${node.url}/health`)).json()) as Json;
    expect(health).toMatchObject({ status: 'ok', fhirVersion: '3.0.1', schemaVersion });
  });

  it('never writes secrets or tokens to the log', () => {
    const log = logLines.join('');
    expect(log.length).toBeGreaterThan(0);
    expect(log).not.toContain(credentials.client_secret);
    expect(log).not.toContain(node.token);
    expect(log.toLowerCase()).not.toContain('bearer ');
  });
});
