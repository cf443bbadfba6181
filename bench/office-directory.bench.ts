import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateExtraction } from '../src-server/directory/generate';
import { importDirectoryFile } from '../src-server/directory/import';
import { DIRECTORY_TYPES } from '../src-server/fhir/directory';
import { openFolderDatabase } from '../src-server/folder-access';
import { DATABASE_FILE, startNode } from '../src-server/node';
import type { Db } from '../src-server/store/database';
import { openDatabase } from '../src-server/store/database';
import { openRepository } from '../src-server/store/store';
import { killAllChildren, serve } from '../tests/helpers/child-node';
import { testDataKey, testDatabaseKey } from '../tests/helpers/data-key';
import { ADMIN_PASSWORD, call, passwordLogin, setupBody } from '../tests/helpers/setup';
import { positiveNumber } from './lib/settings';
import { sourceSettled, startSyncTiming } from './lib/sync-nodes';

/**
 * A desktop joining an office (docs/sync.md, "One directory per office"): the office's node (`liaison serve`, a child
 * process) holds an imported directory; a fresh desktop node in this process joins it by the first-run join (set-up,
 * a colleague, a join code, `POST /setup/join`) and follows the directory from it with the sync's defaults. Figure:
 * directory resources per second from the join's call to the last directory version stored on the desktop
 * (target ≥ 5,000/s), with the CPU seconds both nodes spent and the share of the machine other processes took (a
 * shared machine moves the wall-clock figure).
 *
 * Env: BENCH_LINES (default 200,000) activity lines generated and imported on the office's node, with their MSSanté
 * file; or BENCH_DATA, a data folder already holding a directory whose first run is not done (a COPY of the national
 * one from `liaison directory import`: the bench sets it up as an office), its key from BENCH_KEY_FILE or as
 * `liaison serve` finds it.
 */

const lines = Math.floor(positiveNumber('BENCH_LINES', 200_000));
const givenData = process.env.BENCH_DATA;
const log = (message: string) => process.stderr.write(`[office-directory] ${message}\n`);
const directoryTypes = [...DIRECTORY_TYPES];
const countDirectory = (db: Db) =>
  db.prepare(`SELECT count(*) FROM resource_versions WHERE resource_type IN (${directoryTypes.map(() => '?').join(', ')})`).pluck().get(...directoryTypes) as number;

const officeDir = givenData ?? mkdtempSync(join(tmpdir(), 'liaison-bench-office-'));
const desktopDir = mkdtempSync(join(tmpdir(), 'liaison-bench-desktop-'));
try {
  let changes: number;
  /** The directory versions the office's node holds once imported (its set-up adds the practice's Organization). */
  let directoryVersions: number;
  if (givenData) {
    const db = await openFolderDatabase(givenData);
    changes = db.prepare('SELECT count(*) FROM change_log').pluck().get() as number;
    directoryVersions = countDirectory(db);
    db.close();
  } else {
    log(`generating and importing ${lines.toLocaleString('en-US')} activity lines on the office's node`);
    const generated = generateExtraction(officeDir, { lines, seed: 1 });
    // Encrypted under the key the office's node is started with below (the folder's test key).
    const db = openDatabase(join(officeDir, DATABASE_FILE), { key: testDatabaseKey(officeDir) });
    const repository = openRepository(db);
    await importDirectoryFile(db, repository, generated.activityFile);
    await importDirectoryFile(db, repository, generated.mssanteFile);
    changes = db.prepare('SELECT count(*) FROM change_log').pluck().get() as number;
    directoryVersions = countDirectory(db);
    db.close();
  }

  const office = await serve(officeDir, 600_000, [], { keyFile: process.env.BENCH_KEY_FILE });
  // An office node that has been running: its text index has caught up before anyone joins.
  await sourceSettled(office.url, changes);
  const officeCode = (JSON.parse(readFileSync(join(officeDir, 'node.json'), 'utf8')) as { setupCode?: string }).setupCode;
  if (!officeCode) throw new Error(`${officeDir} is set up already: give a copy of a folder whose first run is not done`);
  const done = await call(office.url, 'POST', '/setup', { json: setupBody(), setupCode: officeCode });
  if (done.status !== 201) throw new Error(`the office's set-up answered ${done.status}: ${JSON.stringify(done.body)}`);
  const adminToken = (await passwordLogin(office.url, 'admin', ADMIN_PASSWORD)).tokens!.access_token as string;
  const colleague = await call(office.url, 'POST', '/admin/users', {
    token: adminToken,
    json: { login: 'sophie', displayName: 'Sophie Leroy', roles: ['staff'], organizations: [done.body.organizationId], password: 'my own long password' },
  });
  const code = (await call(office.url, 'POST', '/admin/join-codes', { token: adminToken, json: { userId: colleague.body.user.id } })).body.code as string;

  const desktop = await startNode({ dataDir: desktopDir, dataKey: testDataKey(desktopDir), port: 0 });
  log(`a desktop joins and follows ${directoryVersions.toLocaleString('en-US')} directory versions`);
  const stop = startSyncTiming(office.child.pid!);
  const joined = await call(desktop.url, 'POST', '/setup/join', { json: { officeUrl: office.url, code }, setupCode: desktop.firstRun.setupCode });
  if (joined.status !== 201) throw new Error(`the join answered ${joined.status}: ${JSON.stringify(joined.body)}`);
  let lastLog = performance.now();
  for (let held = countDirectory(desktop.db); held < directoryVersions; held = countDirectory(desktop.db)) {
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      log(`${held.toLocaleString('en-US')} directory versions on the desktop`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const timing = stop();
  console.log(
    JSON.stringify({
      bench: 'office-directory',
      figure: 'directory followed by a desktop joining its office',
      ...(givenData ? { data: givenData } : { lines }),
      resources: directoryVersions,
      resourcesPerSecond: Math.round(directoryVersions / timing.seconds),
      target: 5000,
      ...timing,
    }),
  );
  await desktop.close();
} finally {
  await killAllChildren();
  if (!givenData) rmSync(officeDir, { recursive: true, force: true });
  rmSync(desktopDir, { recursive: true, force: true });
}
