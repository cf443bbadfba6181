import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { killAllChildren, runCli, serve } from '../../helpers/child-node';
import { startTestNode, tempDir, type TestNode } from '../../helpers/node';
import { eventually, ownerCredentials } from '../../helpers/sync-nodes';
import { unlockTestDatabase } from '../../helpers/data-key';

/**
 * `kill -9` of a node in the middle of an initial sync, between storing a page and moving on: a real `liaison serve`
 * child configured with `liaison peers add`, killed while it pulls. The pull cursor commits with the page it
 * follows, so the restarted node fetches at most that page again and ends with every version exactly once.
 */

const PATIENTS = 10_000;

let source: TestNode | undefined;
const dataDir = tempDir('liaison-sync-crash-');

afterAll(async () => {
  await killAllChildren();
  await source?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

function countsOf(file: string): { versions: number; changes: number; distinct: number; cursor: string } {
  const db = new Database(file, { readonly: true });
  unlockTestDatabase(db, dataDir);
  try {
    const one = (sql: string) => db.prepare(sql).pluck().get() as number;
    return {
      versions: one("SELECT count(*) FROM resource_versions WHERE resource_type = 'Patient'"),
      changes: one("SELECT count(*) FROM change_log WHERE resource_type = 'Patient'"),
      distinct: one("SELECT count(DISTINCT version_id) FROM resource_versions WHERE resource_type = 'Patient'"),
      cursor: db.prepare('SELECT pull_cursor FROM sync_peers').pluck().get() as string,
    };
  } finally {
    db.close();
  }
}

describe('sync across a kill -9', () => {
  it('resumes the pull where the last committed page ended, and stores every version once', async () => {
    source = await startTestNode();
    const node = source;
    node.repository.transaction(() => {
      for (let index = 0; index < PATIENTS; index++) node.repository.create('Patient', { resourceType: 'Patient', name: [{ family: `Crash${index}` }] });
    });

    const { clientId, clientSecret } = ownerCredentials(node);
    process.env.LIAISON_PEER_CLIENT_SECRET = clientSecret;
    try {
      const added = await runCli(['peers', 'add', '--data', dataDir, '--name', 'source', '--url', node.url, '--client-id', clientId]);
      expect(added.code, added.stderr).toBe(0);
      expect(added.stdout).not.toContain(clientSecret);
    } finally {
      delete process.env.LIAISON_PEER_CLIENT_SECRET;
    }
    const listed = await runCli(['peers', 'list', '--data', dataDir]);
    expect(listed.stdout).toContain(node.url);
    expect(listed.stdout).not.toContain(clientSecret);

    const file = join(dataDir, 'liaison.db');
    const first = await serve(dataDir);
    // Killed once some pages are in, before all are.
    await eventually(() => countsOf(file).versions >= 500, 'some pages are stored', 30_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const atKill = countsOf(file);
    expect(atKill.versions).toBeLessThan(PATIENTS);
    // The cursor is the peer's sequence of the last version stored: the page and its cursor committed together.
    expect(Number(atKill.cursor)).toBe(atKill.versions);

    const second = await serve(dataDir);
    await eventually(() => countsOf(file).versions === PATIENTS, 'the restarted node has every patient', 60_000);
    const after = countsOf(file);
    expect(after).toEqual({ versions: PATIENTS, changes: PATIENTS, distinct: PATIENTS, cursor: String(PATIENTS) });
    second.child.kill('SIGKILL');
    await second.exited;
  }, 120_000);
});
