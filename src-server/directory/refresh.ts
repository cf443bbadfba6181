import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from '../store/database';
import { ArchiveRefusedError, archiveRefusal, type ArchiveMode, type ArchiveRefusal } from './archive-guard';
import { SERVING_CHUNK_BYTES, type ImportOptions, type ImportReport } from './import';
import { download, probe, SourceError, type Publication, type SourceConnection } from './source-client';
import { CorruptZipError, readZipDirectory, verifyZip } from './zip';

/**
 * The daily refresh of the directory from the ANS open-data extractions (docs/directory.md, "Daily refresh"): each
 * day the node asks the service what it publishes, and when a publication is new downloads its ZIP into the data
 * folder (public data: kept in clear, 0600, deleted once imported), checks it whole (central directory, each entry's
 * CRC), and imports its extraction entry streamed from the ZIP through the incremental import, guarded like any
 * other (archive-guard.ts): a publication that would archive too much waits for the admin's confirmation. The
 * directory stays searchable throughout: the import writes in small transactions.
 */

/** The ANS service; a mirror or a test server may stand in (`liaison directory source --url`). */
export const ANS_BASE_URL = 'https://service.annuaire.sante.fr';
export const IGC_SANTE_ROOT = fileURLToPath(new URL('../../resources/igc-sante-racine.pem', import.meta.url));
const EXTRACTIONS = '/annuaire-sante-webservices/V300/services/extraction/';

export const PUBLICATIONS = [
  { kind: 'activity', path: 'PS_LibreAcces', entry: 'PS_LibreAcces_Personne_activite' },
  { kind: 'mssante', path: 'Extraction_Correspondance_MSSante', entry: 'Extraction_Correspondance_MSSante' },
] as const;
export type PublicationKind = (typeof PUBLICATIONS)[number]['kind'];

export interface RefreshSettings {
  /** The service's base URL; absent: no refresh. */
  source?: string;
  /** The proxy setting (wins over HTTPS_PROXY); 'none': never one. */
  proxy?: string;
}

export interface RefreshOptions {
  /** Where downloads go (in the data folder). */
  folder: string;
  /** Trust anchors beside Node's (the IGC-Santé root; tests add their own CA). */
  extraCa?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** The largest download (2 GiB: the national activity ZIP is a few hundred megabytes). */
  maxBytes?: number;
  /** Between two checks (a day), after a failure (an hour), and after the node starts (a minute). */
  everyMs?: number;
  retryMs?: number;
  firstCheckMs?: number;
  timeoutMs?: number;
  /**
   * Why the node should not fetch now, if it should not (docs/sync.md "One directory per office"): it follows the
   * directory from a peer (its office's node), or the practice is not set up yet and nobody chose a source (a fresh
   * desktop about to join an office must not start a national download first). Asked at each check.
   */
  heldBack?: () => RefreshHeldBack | undefined;
}

export type RefreshHeldBack = 'directory-peer' | 'setup';

/** The code a failure is said with in Réglages (fhir/refusals.ts). */
export type RefreshFailureCode = SourceError['code'] | 'directory-zip-corrupt' | 'directory-import-failed';

export interface ImportedPublication extends Publication {
  importedAt: string;
  /** Lines taken from it (activities, or mailboxes). */
  lines: number;
}

export interface RefreshStatus {
  enabled: boolean;
  source?: string;
  proxy?: string;
  imported: Partial<Record<PublicationKind, ImportedPublication>>;
  running?: { kind: PublicationKind; phase: 'checking' | 'downloading' | 'checking-zip' | 'importing'; bytes: number; totalBytes?: number; lines: number };
  nextCheck?: string;
  lastCheck?: string;
  failure?: { code: RefreshFailureCode; message: string; at: string; parameters?: Record<string, number | string> };
  /** A publication that would archive too much: it waits for the admin's word (`confirm`). */
  waiting?: { kind: PublicationKind; publication: Publication; refusal: ArchiveRefusal };
  /** Why the node does not fetch though a source is set (RefreshOptions.heldBack). */
  heldBack?: RefreshHeldBack;
}

/**
 * The source and proxy in force: the data folder's settings, else the run's (tests name their server), else the ANS
 * service, except for the demo, and where LIAISON_DIRECTORY_SOURCE says otherwise ('off': the test suite sets it, so
 * no test node reaches the ANS).
 */
export function effectiveRefreshSettings(
  saved: { source?: string; proxy?: string },
  { demo, override, env = process.env }: { demo: boolean; override?: RefreshSettings; env?: NodeJS.ProcessEnv },
): RefreshSettings {
  const source = saved.source ?? override?.source ?? (demo ? 'off' : (env.LIAISON_DIRECTORY_SOURCE ?? ANS_BASE_URL));
  const proxy = saved.proxy ?? override?.proxy;
  return { ...(source !== 'off' ? { source } : {}), ...(proxy ? { proxy } : {}) };
}

type Importer = (source: { zip: string; entry: ReturnType<typeof readZipDirectory>[number] }, options: ImportOptions) => Promise<ImportReport>;

const STATE_KEY = 'directory.refresh';
const DAY = 24 * 3600_000;
const STALE_DAYS = 3;
/**
 * The refresh's chunks, smaller than an import by hand's (SERVING_CHUNK_BYTES): nobody waits for it, searches do. At
 * 40,000 lines the searches' p95 during the activity import went from 107 ms (256 KiB) to 31 ms, the refresh no slower.
 */
const REFRESH_CHUNK_BYTES = SERVING_CHUNK_BYTES / 4;

export class DirectoryRefresh {
  private settings: RefreshSettings;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private current: RefreshStatus['running'];
  private nextCheck: Date | undefined;
  private closed = false;
  private changed = false;
  /** Stops a download or an import when the node closes (between two chunks: what was written stays consistent). */
  private readonly stopping = new AbortController();

  constructor(
    private readonly db: Db,
    private readonly importFile: Importer,
    settings: RefreshSettings,
    private readonly options: RefreshOptions,
  ) {
    this.settings = settings;
  }

  /** Schedules the first check (none without a source). */
  start(): void {
    this.schedule(this.options.firstCheckMs ?? 60_000);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.stopping.abort();
    await this.running?.catch(() => {});
  }

  /** New settings (Réglages, the CLI through the node): the next check follows them, now when a source is set. */
  configure(settings: RefreshSettings): void {
    this.settings = settings;
    // A check running under the old settings is followed by one under the new; else one starts now (its state says so
    // at once, to the admin who saved them).
    if (this.running) this.changed = true;
    else if (settings.source) void this.run().catch(() => {});
    else this.schedule(0);
  }

  status(): RefreshStatus {
    const state = this.state();
    const heldBack = this.options.heldBack?.();
    return {
      enabled: this.settings.source !== undefined,
      ...(this.settings.source ? { source: this.settings.source } : {}),
      ...(this.settings.proxy ? { proxy: this.settings.proxy } : {}),
      imported: state.imported,
      ...(this.current ? { running: { ...this.current } } : {}),
      ...(this.nextCheck && !this.current ? { nextCheck: this.nextCheck.toISOString() } : {}),
      ...(state.lastCheck ? { lastCheck: state.lastCheck } : {}),
      ...(state.failure ? { failure: state.failure } : {}),
      ...(state.waiting ? { waiting: state.waiting } : {}),
      ...(this.settings.source && heldBack ? { heldBack } : {}),
    };
  }

  /** For /health (no authentication): no source or proxy address, no failure's wording, the codes only. */
  publicStatus(): Omit<RefreshStatus, 'source' | 'proxy' | 'failure' | 'waiting'> & { failure?: { code: RefreshFailureCode; at: string }; waiting?: { kind: PublicationKind; archiving: number; active: number } } {
    const { source: _source, proxy: _proxy, failure, waiting, ...rest } = this.status();
    return {
      ...rest,
      ...(failure ? { failure: { code: failure.code, at: failure.at } } : {}),
      ...(waiting ? { waiting: { kind: waiting.kind, archiving: waiting.refusal.archiving, active: waiting.refusal.active } } : {}),
    };
  }

  /**
   * A problem for /health once the directory imported is more than STALE_DAYS behind because the refresh fails or
   * waits. A node that never imported one says so in Réglages only (a new desktop offline is not degraded).
   */
  problems(now = Date.now()): Array<{ part: string; reason: string }> {
    const { enabled, imported, failure, waiting } = this.status();
    const dates = Object.values(imported).map((publication) => Date.parse(publication.importedAt));
    if (!enabled || (!failure && !waiting) || dates.length === 0) return [];
    if (now - Math.max(...dates) < STALE_DAYS * DAY) return [];
    const why = waiting ? `a publication waits for the admin's confirmation (it would archive ${waiting.refusal.archiving} of ${waiting.refusal.active})` : `the refresh fails (${failure!.code})`;
    return [{ part: 'directory', reason: `The directory was last refreshed more than ${STALE_DAYS} days ago: ${why}` }];
  }

  /** Checks now (the retry button, `liaison directory refresh`); resolves once the check and any import ended. */
  check(): Promise<void> {
    return this.run();
  }

  /** The admin confirms the waiting publication is the whole directory: it is imported, archiving what it lacks. */
  confirm(): Promise<void> {
    return this.run(true);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.nextCheck = undefined;
    if (this.closed || !this.settings.source) return;
    this.nextCheck = new Date(Date.now() + delayMs);
    this.timer = setTimeout(() => void this.run().catch(() => {}), delayMs);
    this.timer.unref();
  }

  private run(confirmed = false): Promise<void> {
    this.running ??= this.refresh(confirmed).finally(() => (this.running = undefined));
    return this.running;
  }

  private async refresh(confirmed: boolean): Promise<void> {
    clearTimeout(this.timer);
    const source = this.settings.source;
    if (!source) return;
    if (this.options.heldBack?.()) {
      // Asked again at the next check: set-up done or the peer removed, the refresh takes over.
      this.schedule(this.options.retryMs ?? 3600_000);
      return;
    }
    let failed = false;
    try {
      for (const publication of PUBLICATIONS) {
        if (!(await this.refreshOne(source, publication, confirmed))) break;
      }
      this.save({ failure: undefined });
    } catch (error) {
      failed = true;
      // Stopped by the node closing: no failure to report, the next start checks again.
      if (!this.closed) this.save({ failure: failureOf(error) });
    } finally {
      this.current = undefined;
      this.save({ lastCheck: new Date().toISOString() });
      const changed = this.changed;
      this.changed = false;
      this.schedule(changed ? 0 : failed ? (this.options.retryMs ?? 3600_000) : (this.options.everyMs ?? DAY));
    }
  }

  /** One publication: false when it waits for the admin (the next ones wait with it). */
  private async refreshOne(base: string, { kind, path, entry: entryPrefix }: (typeof PUBLICATIONS)[number], confirmed: boolean): Promise<boolean> {
    const url = new URL(`${base.replace(/\/$/, '')}${EXTRACTIONS}${path}`);
    const connection = this.connection();
    this.current = { kind, phase: 'checking', bytes: 0, lines: 0 };
    const publication = await probe(url, connection);
    const state = this.state();
    const waiting = state.waiting?.kind === kind && samePublication(state.waiting.publication, publication);
    if (waiting && !confirmed) return false;
    const imported = state.imported[kind];
    if (imported && samePublication(imported, publication)) return true;
    // A newer publication replaces one that waited: the old file goes.
    if (state.waiting?.kind === kind && !waiting) rmSync(this.fileOf(kind, state.waiting.publication), { force: true });
    mkdirSync(this.options.folder, { recursive: true, mode: 0o700 });
    chmodSync(this.options.folder, 0o700);
    const zip = this.fileOf(kind, publication);
    if (!existsSync(zip)) {
      this.current = { kind, phase: 'downloading', bytes: 0, totalBytes: publication.size, lines: 0 };
      await download(url, publication, zip, {
        ...connection,
        signal: this.stopping.signal,
        maxBytes: this.options.maxBytes ?? 2 * 1024 ** 3,
        onBytes: (bytes, total) => Object.assign(this.current!, { bytes, totalBytes: total }),
      });
    }
    this.current = { kind, phase: 'checking-zip', bytes: 0, lines: 0 };
    const archive: ArchiveMode = confirmed && waiting ? 'confirmed' : 'guarded';
    // A damaged file is of no use, resumed or not: deleted, the next attempt downloads it again.
    const dropIfCorrupt = (error: unknown) => {
      if (error instanceof CorruptZipError) rmSync(zip, { force: true });
      return error;
    };
    let entry;
    try {
      const entries = readZipDirectory(zip);
      entry = entries.find((candidate) => candidate.name.replace(/^.*\//, '').startsWith(entryPrefix) && candidate.name.endsWith('.txt'));
      if (!entry) throw CorruptZipError.of(zip, `it holds no ${entryPrefix}_….txt`);
      // A guarded import reads the whole entry, its size and CRC-32 checked, before it writes anything (the activity
      // thread's census, the MSSanté import's reading): a pass of its own first read the file twice (some 671 MB
      // inflated nationally). A confirmed import writes as it reads: the file is checked first.
      if (archive !== 'guarded') await verifyZip(zip, [entry]);
    } catch (error) {
      throw dropIfCorrupt(error);
    }
    this.current = { kind, phase: 'importing', bytes: 0, totalBytes: entry.size, lines: 0 };
    let report: ImportReport;
    try {
      report = await this.importFile({ zip, entry }, { archive, chunkBytes: REFRESH_CHUNK_BYTES, signal: this.stopping.signal, onProgress: ({ bytes, totalBytes, lines }) => Object.assign(this.current!, { bytes, totalBytes, lines }) });
    } catch (error) {
      if (!(error instanceof ArchiveRefusedError)) throw dropIfCorrupt(error);
      // Kept for the confirmation: the same publication is not downloaded again.
      this.save({ waiting: { kind, publication, refusal: archiveRefusal(error) }, failure: undefined });
      return false;
    }
    rmSync(zip, { force: true });
    this.save({ imported: { ...this.state().imported, [kind]: { ...publication, importedAt: report.finishedAt, lines: report.lines.accepted } }, waiting: undefined, failure: undefined });
    return true;
  }

  /** Where a publication is downloaded: named after it, never outside the folder whatever the service calls it. */
  private fileOf(kind: PublicationKind, publication: Publication): string {
    return join(this.options.folder, `${kind}-${publication.name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100)}`);
  }

  private connection(): SourceConnection {
    const extraCa = this.options.extraCa ?? [readFileSync(IGC_SANTE_ROOT, 'utf8')];
    return { extraCa, proxy: this.settings.proxy, env: this.options.env, timeoutMs: this.options.timeoutMs };
  }

  private state(): Pick<RefreshStatus, 'imported' | 'failure' | 'waiting' | 'lastCheck'> {
    const json = this.db.prepare<[string], string>('SELECT value FROM node_meta WHERE key = ?').pluck().get(STATE_KEY);
    return json ? (JSON.parse(json) as RefreshStatus) : { imported: {} };
  }

  private save(change: Partial<Pick<RefreshStatus, 'imported' | 'failure' | 'waiting' | 'lastCheck'>>): void {
    const next = { ...this.state(), ...change };
    this.db.prepare('INSERT OR REPLACE INTO node_meta (key, value) VALUES (?, ?)').run(STATE_KEY, JSON.stringify(next));
  }
}

/** Two answers name the same publication: the same file name, and the same ETag when both have one. */
const samePublication = (a: Publication, b: Publication) => a.name === b.name && (a.etag === undefined || b.etag === undefined || a.etag === b.etag);

function failureOf(error: unknown): NonNullable<RefreshStatus['failure']> {
  const at = new Date().toISOString();
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof SourceError) return { code: error.code, message, at, ...(Object.keys(error.parameters).length ? { parameters: error.parameters } : {}) };
  if (error instanceof CorruptZipError) return { code: 'directory-zip-corrupt', message, at };
  return { code: 'directory-import-failed', message, at };
}
