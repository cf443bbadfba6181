import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestNode, tempDir, type TestNode } from '../../helpers/node';

/** The audit trail's retention: rows older than the setting go, in batches, when the node starts (and daily). */

const DAY_MS = 86_400_000;
const dataDir = tempDir();

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function actions(node: TestNode): Promise<string[]> {
  const response = await fetch(`${node.url}/admin/audit?_count=1000`, { headers: { authorization: `Bearer ${node.token}` } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { events: Array<{ action: string }> }).events.map((event) => event.action);
}

/** A read of `Patient/<id>` by the owner, written to the trail now. */
async function read(node: TestNode, id: string): Promise<void> {
  await node.request(`Patient/${id}`);
  await actions(node);
}

/** As if the node had run `days` more: every row so far is that much older. */
function daysPass(node: TestNode, days: number): void {
  node.db.prepare('UPDATE audit_log SET at = at - ?').run(days * DAY_MS);
}

describe('audit retention', () => {
  it('keeps a year by default, then what settings.json says, purging older rows at start', async () => {
    let node = await startTestNode({ dataDir });
    await read(node, 'two-years');
    // A backlog of them, purged over several batches.
    node.db
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3500)
         INSERT INTO audit_log (at, event, client_id, action, status) SELECT at, event, client_id, action, status FROM n, audit_log WHERE action = ?`,
      )
      .run('GET /fhir/Patient/two-years');
    daysPass(node, 430);
    await read(node, 'ten-months');
    daysPass(node, 240);
    await read(node, 'two-months');
    daysPass(node, 60);
    await read(node, 'today');
    await node.stop();

    node = await startTestNode({ dataDir });
    try {
      await expect.poll(() => actions(node)).not.toContain('GET /fhir/Patient/two-years');
      expect(node.db.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'GET /fhir/Patient/two-years'").get()).toEqual({ n: 0 });
      expect(await actions(node)).toEqual(expect.arrayContaining(['GET /fhir/Patient/ten-months', 'GET /fhir/Patient/two-months', 'GET /fhir/Patient/today']));
    } finally {
      await node.stop();
    }

    writeFileSync(join(dataDir, 'settings.json'), JSON.stringify({ audit: { retentionDays: 90 } }));
    node = await startTestNode({ dataDir });
    try {
      await expect.poll(() => actions(node)).not.toContain('GET /fhir/Patient/ten-months');
      expect(await actions(node)).toEqual(expect.arrayContaining(['GET /fhir/Patient/two-months', 'GET /fhir/Patient/today']));
    } finally {
      await node.stop();
    }
  });

  it('says when a purge fails (a full disk) and keeps serving, rather than ending the node', async () => {
    const elsewhere = tempDir();
    const lines: string[] = [];
    try {
      let node = await startTestNode({ dataDir: elsewhere });
      await read(node, 'two-years');
      daysPass(node, 730);
      // The disk refuses the purge's deletes as a full one would.
      node.db.exec("CREATE TRIGGER full_disk BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
      await node.stop();

      node = await startTestNode({ dataDir: elsewhere, logger: { level: 'warn', stream: { write: (line: string) => void lines.push(line) } } });
      try {
        await expect.poll(() => lines.join('')).toContain('The audit trail could not be purged of its rows older than 365 days: database or disk is full');
        expect(await actions(node)).toContain('GET /fhir/Patient/two-years');
        expect((await node.request('Patient/today')).status).toBe(404);
      } finally {
        await node.stop();
      }
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('refuses to start with a retention that is not a whole number of days, saying where', async () => {
    const elsewhere = tempDir();
    try {
      writeFileSync(join(elsewhere, 'settings.json'), JSON.stringify({ audit: { retentionDays: 0 } }));
      await expect(startTestNode({ dataDir: elsewhere })).rejects.toThrow(/settings\.json.*retentionDays/);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
