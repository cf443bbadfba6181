import type { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { withDataFolder, type AdminApi } from '../folder-access';
import { refreshPlannerStatistics } from '../store/database';
import { openRepository } from '../store/store';
import { generateExtraction } from '../directory/generate';
import { importDirectoryFile, type ImportProgress, type ImportReport } from '../directory/import';
import { ARCHIVE_SHARE_LIMIT, type ArchiveMode } from '../directory/archive-guard';
import { DOWNLOAD_FOLDER } from '../directory/module';
import { ANS_BASE_URL, DirectoryRefresh, effectiveRefreshSettings, type RefreshStatus } from '../directory/refresh';
import { checkDirectorySettings, loadNodeSettings, saveDirectorySettings } from '../node-settings';

/**
 * `liaison directory …`: import an ANS extraction into a data directory (directly when no node serves it, through
 * the running node's admin API when one does), and generate synthetic extractions. Registered by cli.ts.
 */

export function registerDirectoryCommands(program: Command, defaultDataDir: string): void {
  const directory = program.command('directory').description('the national directory of health professionals');
  directory
    .command('import <file...>')
    .description('import PS_LibreAcces_Personne_activite and/or Extraction_Correspondance_MSSante files (activity files first)')
    .option('--data <dir>', 'data directory', defaultDataDir)
    .option('--replace', `the file is the whole directory: archive what it lacks, even more than ${ARCHIVE_SHARE_LIMIT * 100} % of it`)
    .option('--no-archive', 'the file is an update only (a part of the directory): archive nothing')
    .action(async (files: string[], options: { data: string; replace?: boolean; archive: boolean }) => {
      if (options.replace && !options.archive) throw new Error('--replace and --no-archive say opposite things: choose one');
      const archive: ArchiveMode = options.replace ? 'confirmed' : options.archive ? 'guarded' : 'never';
      await withDataFolder(options.data, {
        async direct(db) {
          const repository = openRepository(db);
          for (const file of files) {
            const report = await importDirectoryFile(db, repository, resolve(file), { onProgress: progressPrinter(file), archive });
            process.stderr.write('\n');
            console.log(summarize(report));
          }
          refreshPlannerStatistics(db);
        },
        async served(api) {
          console.error(`A node serves this folder (${api.url}): importing through it.`);
          for (const file of files) console.log(summarize(await importThrough(api, resolve(file), archive)));
        },
      });
    });
  directory
    .command('source')
    .description('where the node refreshes the directory from each day (the ANS service by default), and through which proxy')
    .option('--data <dir>', 'data directory', defaultDataDir)
    .option('--url <url>', `the extraction service's base URL (default ${ANS_BASE_URL}; a mirror or a test server may stand in)`)
    .option('--off', 'no daily refresh')
    .option('--proxy <url>', 'an HTTP proxy for these requests (wins over HTTPS_PROXY)')
    .option('--no-proxy', 'never a proxy, whatever HTTPS_PROXY says')
    .action(async (options: { data: string; url?: string; off?: boolean; proxy?: string | false }) => {
      if (options.url && options.off) throw new Error('--url and --off say opposite things: choose one');
      const given = {
        ...(options.off ? { source: 'off' } : options.url ? { source: options.url } : {}),
        ...(options.proxy === false ? { proxy: 'none' } : typeof options.proxy === 'string' ? { proxy: options.proxy } : {}),
      };
      await withDataFolder(options.data, {
        direct(_db, dataDir) {
          const saved = { ...loadNodeSettings(dataDir).directory, ...checkDirectorySettings(given) };
          saveDirectorySettings(dataDir, saved);
          console.log(JSON.stringify(effectiveRefreshSettings(saved, { demo: false }), null, 2));
        },
        async served(api) {
          const status = await api.call<RefreshStatus>('PUT', '/admin/directory/source', given);
          console.log(JSON.stringify({ source: status.source ?? 'off', ...(status.proxy ? { proxy: status.proxy } : {}) }, null, 2));
        },
      });
    });
  directory
    .command('refresh')
    .description('check the extraction service now, and import a new publication (the retry of a failed refresh)')
    .option('--data <dir>', 'data directory', defaultDataDir)
    .option('--confirm', 'import the publication that waits for confirmation as the whole directory, archiving what it lacks')
    .action(async (options: { data: string; confirm?: boolean }) => {
      const status = await withDataFolder(options.data, {
        async direct(db, dataDir) {
          const repository = openRepository(db);
          const settings = effectiveRefreshSettings(loadNodeSettings(dataDir).directory, { demo: false });
          const refresh = new DirectoryRefresh(db, (source, importOptions) => importDirectoryFile(db, repository, source, importOptions), settings, { folder: join(dataDir, DOWNLOAD_FOLDER) });
          await (options.confirm ? refresh.confirm() : refresh.check());
          await refresh.close();
          refreshPlannerStatistics(db);
          return refresh.status();
        },
        async served(api) {
          let state = await api.call<RefreshStatus>('POST', options.confirm ? '/admin/directory/refresh/confirm' : '/admin/directory/refresh', {});
          while (state.running) {
            await sleep(1000);
            state = await api.call<RefreshStatus>('GET', '/admin/directory/refresh');
          }
          return state;
        },
      });
      console.log(JSON.stringify(status, null, 2));
      if (status.failure || status.waiting) process.exitCode = 1;
    });
  directory
    .command('generate')
    .description('write synthetic extraction files (activity + MSSanté) for tests, benchmarks and demos')
    .requiredOption('--lines <n>', 'activity lines', (value) => Number.parseInt(value, 10))
    .option('--out <dir>', 'folder to write them to', '.')
    .option('--seed <n>', 'random seed', (value) => Number.parseInt(value, 10), 1)
    .option('--columns <n>', '52 (current layout) or 48 (older)', (value) => (value === '48' ? 48 : 52), 52)
    .action((options: { lines: number; out: string; seed: number; columns: 52 | 48 }) => {
      mkdirSync(options.out, { recursive: true });
      const generated = generateExtraction(resolve(options.out), options);
      console.log(JSON.stringify(generated, null, 2));
    });
}

/** An import run by the node serving the folder (`/admin/directory/imports`), followed until it ends. */
async function importThrough(api: AdminApi, file: string, archive: ArchiveMode): Promise<ImportReport> {
  const progress = progressPrinter(file);
  let job = await api.call<{ id: string; status: string; progress?: ImportProgress; report?: ImportReport; error?: string }>('POST', '/admin/directory/imports', { path: file, archive });
  while (job.status === 'running') {
    await sleep(500);
    job = await api.call('GET', `/admin/directory/imports/${encodeURIComponent(job.id)}`);
    if (job.progress) progress(job.progress);
  }
  process.stderr.write('\n');
  if (job.status !== 'done' || !job.report) throw new Error(`the import of ${file} failed: ${job.error ?? job.status}`);
  return job.report;
}

/** Progress on stderr, redrawn in place at most every 250 ms. */
function progressPrinter(file: string): (progress: ImportProgress) => void {
  const started = performance.now();
  let lastPrint = 0;
  return ({ bytes, totalBytes, lines }) => {
    const now = performance.now();
    if (now - lastPrint < 250 && bytes < totalBytes) return;
    lastPrint = now;
    const percent = totalBytes === 0 ? 100 : Math.floor((bytes / totalBytes) * 100);
    const rate = Math.round(lines / Math.max((now - started) / 1000, 0.001));
    process.stderr.write(`\r${file}: ${percent}% — ${lines.toLocaleString('en-US')} lines, ${rate.toLocaleString('en-US')} lines/s   `);
  };
}

export function summarize(report: ImportReport): string {
  const resources = Object.entries(report.resources)
    .map(([type, counts]) => `  ${type}: ${Object.entries(counts).filter(([, n]) => n > 0).map(([outcome, n]) => `${n} ${outcome}`).join(', ') || 'nothing'}`)
    .join('\n');
  const rejected = report.rejections.slice(0, 20).map(({ line, reason }) => `  line ${line}: ${reason}`).join('\n');
  return [
    `${report.file} (${report.kind}, ${report.columns} columns, ${report.encoding}) in ${report.seconds} s: ${report.lines.accepted} lines imported, ${report.lines.rejected} rejected`,
    resources,
    ...(report.unmatchedMailboxes ? [`  ${report.unmatchedMailboxes} mailboxes of people or structures not in the directory`] : []),
    ...(rejected ? ['Rejected lines:', rejected] : []),
    ...(report.lines.rejected > 20 ? [`  … and ${report.lines.rejected - 20} more`] : []),
  ].join('\n');
}
