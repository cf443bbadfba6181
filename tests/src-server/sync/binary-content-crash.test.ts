import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { atRestKeys, BINARY_FOLDER } from '../../../src-server/node';
import { BinaryStore } from '../../../src-server/store/binary-store';
import { killAllChildren, runCli, serve } from '../../helpers/child-node';
import { FaultyProxy } from '../../helpers/faulty-proxy';
import { startTestNode, tempDir, type TestNode } from '../../helpers/node';
import { samplePdf } from '../../helpers/pdf';
import { eventually, ownerCredentials } from '../../helpers/sync-nodes';
import { testDataKey, unlockTestDatabase } from '../../helpers/data-key';

/**
 * `kill -9` of a node between storing a replicated Binary and fetching its content: a real `liaison serve` child
 * pulls through a hop that cuts the content route, so the version is stored (with the content it awaits, in the same
 * transaction) but the bytes never come; killed, then restarted with the route back, it fetches them.
 */

let source: TestNode | undefined;
let proxy: FaultyProxy | undefined;
const dataDir = tempDir('liaison-content-crash-');

afterAll(async () => {
  await killAllChildren();
  await proxy?.close();
  await source?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

function stateOf(file: string, binary: string): { versions: number; awaited: number } {
  const db = new Database(file, { readonly: true });
  unlockTestDatabase(db, dataDir);
  try {
    return {
      versions: db.prepare("SELECT count(*) FROM resource_versions WHERE resource_type = 'Binary' AND resource_id = ?").pluck().get(binary) as number,
      awaited: db.prepare('SELECT count(*) FROM sync_content_wanted').pluck().get() as number,
    };
  } catch {
    // Not migrated yet: the child is starting.
    return { versions: 0, awaited: 0 };
  } finally {
    db.close();
  }
}

describe('Binary content across a kill -9', () => {
  it('fetches on restart the content a killed node had not fetched yet', async () => {
    source = await startTestNode();
    proxy = await FaultyProxy.start(source.url);
    proxy.blocked = /\/Binary\/[^/]+\/_history\//;
    const pdf = samplePdf('Letter across a crash');
    const hash = createHash('sha256').update(pdf).digest('hex');
    const posted = await source.request('Binary', { method: 'POST', body: pdf, headers: { 'content-type': 'application/pdf' } });
    expect(posted.status).toBe(201);
    const binary = ((await posted.json()) as { id: string }).id;

    const { clientId, clientSecret } = ownerCredentials(source);
    process.env.LIAISON_PEER_CLIENT_SECRET = clientSecret;
    try {
      const added = await runCli(['peers', 'add', '--data', dataDir, '--name', 'source', '--url', proxy.url, '--client-id', clientId]);
      expect(added.code, added.stderr).toBe(0);
    } finally {
      delete process.env.LIAISON_PEER_CLIENT_SECRET;
    }

    const file = join(dataDir, 'liaison.db');
    const stored = () => new BinaryStore(join(dataDir, BINARY_FOLDER), atRestKeys(testDataKey(dataDir)).content).has(hash);
    const first = await serve(dataDir);
    await eventually(() => stateOf(file, binary).versions === 1 && stateOf(file, binary).awaited === 1, 'the Binary is stored and its content awaited', 30_000);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(stateOf(file, binary)).toEqual({ versions: 1, awaited: 1 });
    expect(stored()).toBe(false);

    proxy.blocked = undefined;
    const second = await serve(dataDir);
    await eventually(() => stateOf(file, binary).awaited === 0 && stored(), 'the restarted node has fetched the content', 30_000);
    const response = await fetch(`${second.fhir}/Binary/${binary}`, { headers: { authorization: `Bearer ${second.token}`, accept: 'application/pdf' } });
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(pdf);
    second.child.kill('SIGKILL');
    await second.exited;
  }, 90_000);
});
