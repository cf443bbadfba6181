import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The node's layers (docs/architecture.md): fhir ← store ← rest ← modules ← http ← node, each importing only those to
 * its left, no import cycles, no electron in the node (.dependency-cruiser.cjs); and the core schema known to store/
 * alone, which dependency-cruiser cannot see: SQL naming the core tables is checked here.
 */

const ROOT = join(import.meta.dirname, '../..');

describe('the layers of the node', () => {
  it('are kept: every import follows the rule, and none makes a cycle (dependency-cruiser)', () => {
    const result = spawnSync('npx', ['depcruise', 'src-server', 'src-main', 'src-renderer', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd: ROOT, encoding: 'utf8' });
    expect(result.stdout + result.stderr.replace(/npm warn.*\n/g, '')).toMatch(/no dependency violations found/);
    expect(result.status).toBe(0);
  }, 120_000);

  it('leave the core tables to store/: no SQL over them anywhere else', () => {
    const found = serverFiles(join(ROOT, 'src-server'))
      .filter((file) => !relative(ROOT, file).startsWith('src-server/store/'))
      .flatMap((file) => coreTablesNamed(readFileSync(file, 'utf8')).map((table) => `${relative(ROOT, file)}: ${table}`));
    expect(found).toEqual([]);
  });

  it('catch SQL over the core tables when it is written', () => {
    expect(coreTablesNamed("db.prepare('SELECT body FROM resource_versions WHERE vseq = ?')")).toEqual(['resource_versions']);
    expect(coreTablesNamed('`SELECT 1 FROM resources r JOIN idx_token t ON t.vseq = r.vseq`')).toEqual(['resources', 'idx_token']);
    expect(coreTablesNamed("const TABLE = 'change_log';")).toEqual(['change_log']);
    // Words in comments and prose are not SQL.
    expect(coreTablesNamed("// reads from resources and the change_log\nconst text = 'imported resources';")).toEqual([]);
  });
});

/**
 * The core schema (store/migrations.ts): current resources, versions, the change log, the search index and what the
 * repository alone writes beside them. Modules keep tables of their own (OAuth, users, audit, outbox, subscriptions'
 * queues, peers, join codes) and share node_meta's keys.
 */
const CORE_TABLES = /\b(resource_versions|change_log|idx_[a-z_]+|search_params|resource_counts|resource_owners|open_conflicts|booking_conflicts|sync_deferred)\b|\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(resources)\b/g;

/** The core tables that `source` names outside its comments. */
function coreTablesNamed(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
  return [...code.matchAll(CORE_TABLES)].map((match) => match[1] ?? match[2]);
}

function serverFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return serverFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}
