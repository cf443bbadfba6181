import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { MSSANTE_EXTENSION } from '../../../src-server/directory/codes';
import { PDF, seedOffice } from '../documents/fixtures';
import { startTestNode, type TestNode } from '../../helpers/node';

/**
 * Lifen's documented calls (tests/fixtures/lifen/calls.json, one per example of ../shared/lifen/README.md but the v3
 * operations) against a real node through `/fhir/v2` and `/fhir/v3`, as a Lifen client makes them: its own token
 * request (v2: a form at /oauth/token, v3: JSON at /v1/token, with audience and database_reference), then the calls
 * with only the FHIR base changed. Status, shape and data are checked.
 */

type Json = Record<string, any>;
interface Call {
  name: string;
  method: string;
  path: string;
  body?: Json;
  json?: Json;
  form?: string;
  pdf?: boolean;
  capture?: Record<string, string>;
  retry?: boolean | 'settled';
  expect: { status: number; resourceType?: string; total?: number; entries?: number; contains?: string[]; lacks?: string[] };
}
const { calls } = JSON.parse(readFileSync(new URL('../../fixtures/lifen/calls.json', import.meta.url), 'utf8')) as { calls: Call[] };

let node: TestNode;
beforeAll(async () => {
  // MSSanté set up towards a relay that is not there, giving up at once: a send is accepted, and fails with its reason.
  node = await startTestNode({ channels: { mssante: { host: '127.0.0.1', port: 9, from: 'cabinet.lilas@cabinet.mssante.fr' }, outbox: { maxAttempts: 1 } } });
  seedOffice(node.db, node.repository);
  // Dr Charlotte Fernet as the directory import writes her (RPPS, IDNPS, specialty, an MSSanté and an Apicrypt mailbox, a work address).
  node.repository.update('Practitioner', 'lifen-fernet', {
    resourceType: 'Practitioner',
    id: 'lifen-fernet',
    identifier: [{ system: 'https://rpps.esante.gouv.fr', value: '10000383181' }, { system: 'urn:oid:1.2.250.1.71.4.2.1', value: '810000383181' }],
    name: [{ family: 'Fernet', given: ['Charlotte'], prefix: ['Dr'] }],
    telecom: [
      { system: 'email', value: 'charlotte.fernet@aphp.mssante.fr', use: 'work', extension: [{ url: MSSANTE_EXTENSION, extension: [{ url: 'type', valueCode: 'PER' }] }] },
      { system: 'email', value: 'charlotte.fernet.aphp@medical75.apicrypt.org', use: 'work' },
    ],
    address: [{ use: 'work', line: ['100 BOULEVARD DU GENERAL LECLERC'], city: 'CLICHY', postalCode: '92110' }],
    qualification: [{ code: { coding: [{ system: 'urn:oid:1.2.250.1.71.1.2.7', code: 'SM54' }] } }],
  });
});
afterAll(() => node?.stop());

/** A valid NIR of a woman born in February 1980, as the fixtures' patient (its key is 97 minus the number modulo 97), one per surface: the node keeps one Patient per INS. */
const nirOf = (digit: string) => {
  const number = `280029912345${digit}`;
  return `${number}${String(97n - (BigInt(number) % 97n)).padStart(2, '0')}`;
};

async function token(surface: 'v2' | 'v3'): Promise<string> {
  const { client_id, client_secret } = JSON.parse(readFileSync(node.ownerClientFile, 'utf8')) as Json;
  const fields = { grant_type: 'client_credentials', client_id, client_secret, audience: 'https://production.platform-apis/', database_reference: 'db-practice' };
  const response =
    surface === 'v2'
      ? await fetch(`${node.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) })
      : await fetch(`${node.url}/v1/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) });
  expect(response.status).toBe(200);
  const answer = (await response.json()) as Json;
  expect(answer).toMatchObject({ access_token: expect.any(String), token_type: 'Bearer', expires_in: expect.any(Number), scope: expect.any(String) });
  return answer.access_token as string;
}

describe.each(['v2', 'v3'] as const)("Lifen's calls through /fhir/%s", (surface) => {
  const values: Record<string, string> = { surface, n: surface.slice(1), nir: nirOf(surface.slice(1)) };
  const fill = (text: string) => text.replace(/\{\{(\w+)\}\}/g, (_, name: string) => values[name] ?? `{{${name}}}`);
  let bearer: string;

  beforeAll(async () => {
    bearer = await token(surface);
  });

  for (const call of calls) {
    it(call.name, async () => {
      const url = `${node.url}/fhir/${surface}/${fill(call.path)}`;
      const headers: Record<string, string> = { authorization: `Bearer ${bearer}`, accept: 'application/fhir+json' };
      let body: RequestInit['body'];
      if (call.body) [headers['content-type'], body] = ['application/fhir+json', fill(JSON.stringify(call.body))];
      if (call.json) [headers['content-type'], body] = ['application/json', fill(JSON.stringify(call.json))];
      if (call.form) [headers['content-type'], body] = ['application/x-www-form-urlencoded', fill(call.form)];
      if (call.pdf) [headers['content-type'], body] = ['application/pdf', PDF];
      const send = () => fetch(url, { method: call.method, headers, body });
      let response = await send();
      let text = await response.text();
      // Indexing is asynchronous (the text index; the outbox settling a delivery), at Lifen as here: ask again a while.
      for (let attempt = 0; call.retry && attempt < 100; attempt++) {
        const answer = JSON.parse(text) as Json;
        if (call.retry === 'settled' ? answer.entry?.length && answer.entry.every((entry: Json) => entry.resource.status !== 'in-progress') : answer.total) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
        response = await send();
        text = await response.text();
      }
      expect(response.status, text).toBe(call.expect.status);
      const answer = JSON.parse(text) as Json;
      if (call.expect.resourceType) expect(answer.resourceType).toBe(call.expect.resourceType);
      if (call.expect.total !== undefined) expect(answer.total, text).toBe(call.expect.total);
      if (call.expect.entries !== undefined) expect(answer.entry ?? []).toHaveLength(call.expect.entries);
      for (const expected of call.expect.contains ?? []) expect(text).toContain(fill(expected));
      for (const unexpected of call.expect.lacks ?? []) expect(text).not.toContain(fill(unexpected));
      if (answer.resourceType === 'Bundle') {
        for (const entry of answer.entry ?? []) expect(entry.fullUrl).toMatch(new RegExp(`^${node.url}/fhir/${surface}/`));
        for (const link of answer.link) expect(link.url).toMatch(new RegExp(`^${node.url}/fhir/${surface}/`));
      }
      for (const [name, field] of Object.entries(call.capture ?? {})) values[name] = answer[field];
    });
  }
});
