import { afterAll, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_RATE_LIMIT, setClientRateLimit } from '../../src-server/auth/clients';
import { UI_CLIENT_ID } from '../../src-server/auth/tokens';
import { startNode, type NodeOptions, type RunningNode } from '../../src-server/node';
import { testDataKey } from './data-key';

/** A real node on 127.0.0.1 (free port) over a fresh data directory, with an owner token ready (at the highest rate). */
export interface TestNode extends RunningNode {
  dataDir: string;
  fhir: string;
  token: string;
  /** fetch against the FHIR base with the owner's token and FHIR JSON headers. */
  request(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  stop(): Promise<void>;
}

/** fetch against a FHIR base with a bearer token and FHIR JSON headers (`json` becomes the body). */
export function fhirFetch(fhir: string, token: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const { json, headers, ...rest } = init;
  return fetch(path.startsWith('http') ? path : `${fhir}/${path.replace(/^\//, '')}`, {
    ...rest,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/fhir+json',
      ...(json !== undefined ? { 'content-type': 'application/fhir+json' } : {}),
      ...(headers as Record<string, string> | undefined),
    },
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
  });
}

export function tempDir(prefix = 'liaison-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Temporary folders for a test file's tests, removed after them (hooks registered later, such as killing children, run first). */
export function useTempDirs(defaultPrefix = 'liaison-test-'): (prefix?: string) => string {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  return (prefix = defaultPrefix) => {
    const dir = tempDir(prefix);
    dirs.push(dir);
    return dir;
  };
}

export async function startTestNode(options: Partial<NodeOptions> = {}): Promise<TestNode> {
  const dataDir = options.dataDir ?? tempDir();
  const node = await startNode({ port: 0, ...options, dataDir, dataKey: options.dataKey ?? testDataKey(dataDir) });
  const credentials = JSON.parse(readFileSync(node.ownerClientFile, 'utf8')) as { client_id: string; client_secret: string };
  // Tests drive the node far faster than the owner's 10 calls a second and a user's 50: its admin raised them (rate
  // limits have tests of their own, tests/src-server/http/rate-limit.test.ts, at the real rates).
  setClientRateLimit(node.db, credentials.client_id, MAX_RATE_LIMIT);
  setClientRateLimit(node.db, UI_CLIENT_ID, MAX_RATE_LIMIT);
  const tokenResponse = await fetch(`${node.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...credentials }),
  });
  const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
  const fhir = `${node.url}/fhir`;
  return {
    ...node,
    dataDir,
    fhir,
    token,
    request: (path, init) => fhirFetch(fhir, token, path, init),
    async stop() {
      await node.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Starts a test node before the file's tests and stops it after them; call the returned function to reach it. */
export function useTestNode(options: Partial<NodeOptions> = {}): () => TestNode {
  let node: TestNode | undefined;
  beforeAll(async () => {
    node = await startTestNode(options);
  });
  afterAll(async () => {
    await node?.stop();
  });
  return () => {
    if (!node) throw new Error('the test node is not started yet');
    return node;
  };
}
