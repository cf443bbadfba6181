import type { FastifyInstance } from 'fastify';
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { AuditLog } from '../audit/audit-log';
import type { TokenStore } from '../auth/tokens';
import { NotAnExtractionError, SERVING_CHUNK_BYTES, type ImportProgress, type ImportReport } from '../directory/import';
import { ARCHIVE_MODES, ArchiveRefusedError, archiveRefusal, type ArchiveMode, type ArchiveRefusal } from '../directory/archive-guard';
import type { DirectoryModule } from '../directory/module';
import { badRequest, conflict, forbidden, notFound } from '../fhir/outcome';
import { SettingsError } from '../node-settings';
import { auditAnswer } from './audit-answers';
import { authenticate } from './bearer';

/**
 * `/admin/directory`: the admin imports an ANS extraction file that sits on the node's machine (the files are
 * hundreds of megabytes: the node reads them in place rather than through an upload).
 *   POST /admin/directory/imports { "path": "/abs/PS_LibreAcces_Personne_activite_….txt" } → 202, the import runs
 *   GET  /admin/directory/imports/<id> → its progress, then its report (or why it failed)
 *   GET  /admin/directory/imports → the reports of past imports, newest first
 *   GET  /admin/directory/refresh → the daily refresh's state; POST → check now (202); POST /refresh/confirm → import
 *        the publication waiting for confirmation as the whole directory (202; 409 when none waits)
 *   PUT  /admin/directory/source { "source": "https://…" | "off", "proxy": "http://…" | "none" } → saved, followed now
 * One import at a time (409 otherwise). `archive`: `guarded` (the default: an import that would archive more than 5 % of
 * the directory stops before writing, the job's `refusal` says how many), `confirmed` (the file is the whole
 * directory), `never` (an update only). Directory resources stay read-only through /fhir whatever happens here.
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
  /** Why it stopped before writing anything, for the admin to confirm (`archive: "confirmed"`). */
  refusal?: ArchiveRefusal;
}

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
    const { path, archive = 'guarded' } = (request.body as { path?: unknown; archive?: unknown } | undefined) ?? {};
    if (typeof path !== 'string' || !isAbsolute(path)) throw badRequest('directory-file-invalid', 'Send { "path": "<absolute path of the extraction file on the node\'s machine>" }', 'path');
    if (!statSync(path, { throwIfNoEntry: false })?.isFile()) throw badRequest('directory-file-invalid', `No file at ${path}`, 'path');
    if (!(ARCHIVE_MODES as readonly unknown[]).includes(archive)) throw badRequest('directory-archive-invalid', `archive is one of ${ARCHIVE_MODES.join(', ')}`, 'archive');
    if (running || directory.importing) throw conflict('directory-import-running', running ? `Import ${running.id} is still running` : 'The daily refresh is importing a publication');
    const job: ImportJob = { id: `import-${Date.now()}-${nextId++}`, path, status: 'running' };
    running = job;
    jobs.set(job.id, job);
    for (const id of [...jobs.keys()].slice(0, Math.max(0, jobs.size - JOBS_KEPT))) jobs.delete(id);
    directory.importFile(path, { chunkBytes: SERVING_CHUNK_BYTES, archive: archive as ArchiveMode, onProgress: (progress) => (job.progress = progress) })
      .then((report) => Object.assign(job, { status: 'done', report }))
      .catch((error: unknown) => {
        if (!(error instanceof NotAnExtractionError || error instanceof ArchiveRefusedError)) request.log.error({ err: error }, 'directory import failed');
        Object.assign(job, { status: 'failed', error: error instanceof Error ? error.message : String(error), ...(error instanceof ArchiveRefusedError ? { refusal: archiveRefusal(error) } : {}) });
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

  const { refresh } = directory;
  app.get('/refresh', async () => refresh.status());
  // Checks now (Réglages' "Réessayer"): 202, the state then says what happens.
  app.post('/refresh', async (request, reply) => {
    refresh.check().catch((error: unknown) => request.log.error({ err: error }, 'directory refresh failed'));
    return reply.code(202).send(refresh.status());
  });
  app.post('/refresh/confirm', async (request, reply) => {
    if (!refresh.status().waiting) throw conflict('directory-refresh-nothing-waiting', 'No publication waits for a confirmation');
    refresh.confirm().catch((error: unknown) => request.log.error({ err: error }, 'directory refresh failed'));
    return reply.code(202).send(refresh.status());
  });
  app.put('/source', async (request) => {
    try {
      directory.setSource(request.body ?? {});
    } catch (error) {
      if (!(error instanceof SettingsError)) throw error;
      throw badRequest('directory-source-invalid', error.message, error.field);
    }
    return refresh.status();
  });
}
