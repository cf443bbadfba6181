import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startTestNode, useTestNode } from '../../helpers/node';

/** Host checks against DNS rebinding, CORS off unless allowed, and the headers every response carries. */

const node = useTestNode();

/** A raw request, so that the Host and Origin headers are exactly what a browser would send. */
function raw(url: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('Host', () => {
  it('is refused when it is not a name of this node (DNS rebinding), before any authentication', async () => {
    const port = new URL(node().url).port;
    const auth = { authorization: `Bearer ${node().token}` };
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST']) {
      expect((await raw(`${node().fhir}/metadata`, { host, ...auth })).status, host).toBe(200);
    }
    for (const host of [`attacker.example:${port}`, 'evil.localhost.example', '127.0.0.1.attacker.example']) {
      const answer = await raw(`${node().fhir}/Patient`, { host, ...auth });
      expect(answer.status, host).toBe(403);
      expect(JSON.parse(answer.body).issue[0].diagnostics).toContain('is not a name of this node');
    }
    expect((await raw(`${node().url}/health`, { host: 'attacker.example' })).status).toBe(403);
  });

  it('is a name and a port, nothing more: the FHIR base the node builds from it cannot be given a path', async () => {
    const port = new URL(node().url).port;
    const auth = { authorization: `Bearer ${node().token}` };
    for (const host of [`localhost:${port}/x`, `localhost:1/fhir/Binary/b`, `127.0.0.1:${port}?q`, 'localhost:', `localhost:${port}@attacker`, 'localhost:99999', '[::1]x', '[::1]:8347/x']) {
      const answer = await raw(`${node().fhir}/Patient`, { host, ...auth });
      expect(answer.status, host).toBe(403);
    }
    expect((await raw(`${node().fhir}/metadata`, { host: `[::1]:${port}`, ...auth })).status).toBe(200);
  });

  it('may be another name when configured', async () => {
    const other = await startTestNode({ allowedHosts: ['cabinet.local'] });
    try {
      expect((await raw(`${other.url}/health`, { host: 'cabinet.local:8347' })).status).toBe(200);
      expect((await raw(`${other.url}/health`, { host: 'other.local' })).status).toBe(403);
    } finally {
      await other.stop();
    }
  });
});

describe('CORS', () => {
  it('is off by default: no Access-Control headers, preflights fail', async () => {
    const get = await raw(`${node().url}/health`, { host: '127.0.0.1', origin: 'https://app.example' });
    expect(get.status).toBe(200);
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await raw(`${node().fhir}/Patient`, { host: '127.0.0.1', origin: 'https://app.example', 'access-control-request-method': 'GET' }, 'OPTIONS');
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers the configured origins only', async () => {
    const other = await startTestNode({ corsOrigins: ['https://agenda.example'] });
    try {
      const allowed = await raw(`${other.fhir}/Patient`, { host: '127.0.0.1', origin: 'https://agenda.example', 'access-control-request-method': 'GET' }, 'OPTIONS');
      expect(allowed.status).toBe(204);
      expect(allowed.headers['access-control-allow-origin']).toBe('https://agenda.example');
      const refused = await raw(`${other.url}/health`, { host: '127.0.0.1', origin: 'https://other.example' });
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await other.stop();
    }
  });
});

describe('response headers', () => {
  it('keep responses out of frames and content sniffing, and API answers out of caches', async () => {
    const read = await node().request('Patient?_count=1');
    for (const response of [read, await fetch(`${node().url}/health`), await fetch(`${node().fhir}/Patient`), await fetch(`${node().url}/`)]) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('content-security-policy')).toBe("frame-ancestors 'none'");
    }
    for (const response of [read, await fetch(`${node().fhir}/Patient`)]) expect(response.headers.get('cache-control')).toBe('no-store');
    const page = await fetch(`${node().url}/`);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  });
});
