import type { FastifyInstance } from 'fastify';
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { AuditLog } from '../audit/audit-log';
import type { TokenStore } from '../auth/tokens';
import { NotAnExtractionError, type ImportProgress, type ImportReport } from '../directory/import';
import type { DirectoryModule } from '../directory/module';
import { badRequest, conflict, forbidden, notFound } from '../fhir/outcome';
import { auditAnswer } from './audit-answers';
import { authenticate } from './bearer';

/**
 * `/admin/directory`: the admin imports an ANS extraction file that sits on the node's machine (the files are
 * hundreds of megabytes: the node reads them in place rather than through an upload).
 *   POST /admin/directory/imports { "path": "/abs/PS_LibreAcces_Personne_activite_….txt" } → 202, the import runs
 *   GET  /admin/directory/imports/<id> → its progress, then its report (or why it failed)
 *   GET  /admin/directory/imports → the reports of past imports, newest first
 * One import at a time (409 otherwise). Directory resources stay read-only through /fhir whatever happens here.
 */

export interface DirectoryRoutesOptions {
  directory: DirectoryModule;
  tokens: TokenStore;
  audit: AuditLog;
}

interface ImportJob {
  id: string;
  path: string;
  status: 'running' | 'done' | 'failed';
  progress?: ImportProgress;
  report?: ImportReport;
  error?: string;
}

/** Small reads between the writes of a running node: a 256 KiB chunk holds the event loop for a short while only. */
const CHUNK_BYTES = 256 * 1024;
const JOBS_KEPT = 20;

export async function directoryRoutes(app: FastifyInstance, { directory, tokens, audit }: DirectoryRoutesOptions): Promise<void> {
  const jobs = new Map<string, ImportJob>();
  let running: ImportJob | undefined;
  let nextId = 1;

  app.addHook('onRequest', async (request) => {
    const principal = authenticate(request, tokens);
    if (!principal.admin) throw forbidden('admin-only', 'Only an admin may import the directory');
    request.principal = principal;
  });
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode < 400) auditAnswer(audit, request, reply.statusCode);
  });

  app.post('/imports', async (request, reply) => {
    const path = (request.body as { path?: unknown } | undefined)?.path;
    if (typeof path !== 'string' || !isAbsolute(path)) throw badRequest('directory-file-invalid', 'Send { "path": "<absolute path of the extraction file on the node\'s machine>" }', 'path');
    if (!statSync(path, { throwIfNoEntry: false })?.isFile()) throw badRequest('directory-file-invalid', `No file at ${path}`, 'path');
    if (running) throw conflict('directory-import-running', `Import ${running.id} is still running`);
    const job: ImportJob = { id: `import-${Date.now()}-${nextId++}`, path, status: 'running' };
    running = job;
    jobs.set(job.id, job);
    for (const id of [...jobs.keys()].slice(0, Math.max(0, jobs.size - JOBS_KEPT))) jobs.delete(id);
    directory.importFile(path, { chunkBytes: CHUNK_BYTES, onProgress: (progress) => (job.progress = progress) })
      .then((report) => Object.assign(job, { status: 'done', report }))
      .catch((error: unknown) => {
        if (!(error instanceof NotAnExtractionError)) request.log.error({ err: error }, 'directory import failed');
        Object.assign(job, { status: 'failed', error: error instanceof Error ? error.message : String(error) });
      })
      .finally(() => (running = undefined));
    return reply.code(202).header('location', `/admin/directory/imports/${job.id}`).send(job);
  });

  app.get<{ Params: { id: string } }>('/imports/:id', async (request) => {
    const job = jobs.get(request.params.id);
    if (!job) throw notFound('directory-import-unknown', `No import ${request.params.id} since the node started`);
    return job;
  });

  app.get('/imports', async () => ({ running: running ?? null, reports: directory.reports() }));
}
