import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { seedPatients } from './patients';
import { serveUntilStopped } from './server-process';

/**
 * Child process: the ceiling Liaison is compared with. A bare Fastify app over better-sqlite3 doing only the
 * unavoidable work of a read (one prepared SELECT, send the stored JSON) and of a create (parse, new id,
 * one INSERT in a transaction, send the JSON back), with the same SQLite settings as Liaison (WAL, NORMAL).
 */

type Stored = Record<string, unknown>;

await serveUntilStopped(async (config) => {
  const db = new Database(join(config.dataDir, 'baseline.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE patient (id TEXT PRIMARY KEY, body TEXT NOT NULL)');

  const select = db.prepare<[string], string>('SELECT body FROM patient WHERE id = ?').pluck();
  const insert = db.prepare<[string, string]>('INSERT INTO patient (id, body) VALUES (?, ?)');
  const insertOne = db.transaction((id: string, body: string) => insert.run(id, body));
  // Rows shaped like Liaison's (id and meta first), so both servers send bodies of the same size.
  const toStored = (resource: Stored, id: string): string => {
    const { resourceType, id: _id, meta: _meta, ...rest } = resource;
    return JSON.stringify({ resourceType, id, meta: { versionId: randomUUID(), lastUpdated: new Date().toISOString() }, ...rest });
  };
  db.transaction(() => {
    for (const patient of seedPatients(config.patients)) insert.run(patient.id, toStored(patient, patient.id));
  })();

  const app = Fastify({ logger: false });
  app.get<{ Params: { id: string } }>('/Patient/:id', (request, reply) => {
    const body = select.get(request.params.id);
    if (body === undefined) return reply.code(404).send();
    return reply.type('application/json').send(body);
  });
  app.post<{ Body: Stored }>('/Patient', (request, reply) => {
    const id = randomUUID();
    const body = toStored(request.body, id);
    insertOne(id, body);
    return reply.code(201).type('application/json').send(body);
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    info: { base, headers: { accept: 'application/json' }, contentType: 'application/json' },
    async close() {
      await app.close();
      db.close();
    },
  };
});
