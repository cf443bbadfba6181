import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateExtraction } from '../../src-server/directory/generate';
import { killAllChildren, runCli, serve } from '../helpers/child-node';
import { tempDir } from '../helpers/node';
import { takenPort } from '../helpers/ports';
import { call, passwordLogin } from '../helpers/setup';

/**
 * `liaison serve` and the commands that write, as a user runs them (real processes): one node per data folder, the
 * port said aloud when it is taken, node.json, the set-up address, and `users` and `auth` commands, which read
 * passwords and secrets from standard input only and go through the running node when one serves the folder.
 */

type Json = Record<string, any>;

const folders: string[] = [];
const folder = (prefix: string) => {
  const dir = tempDir(prefix);
  folders.push(dir);
  return dir;
};
afterAll(async () => {
  await killAllChildren();
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

const PASSWORD = 'a password from stdin';
const SECRET = 'oidc-secret-from-stdin-5e2a';

describe('liaison serve', () => {
  it('prints the set-up address, names itself in node.json, and a second serve of the folder refuses, naming it', async () => {
    const dataDir = folder('liaison-serve-');
    const first = await serve(dataDir);
    const { stdout } = first.output();
    const nodeFile = JSON.parse(readFileSync(join(dataDir, 'node.json'), 'utf8')) as Json;
    expect(stdout).toContain(`Set-up:    ${first.url}/#/setup?code=${nodeFile.setupCode}`);
    expect(stdout).toContain(`Address for the practice's software: ${join(dataDir, 'node.json')}`);
    expect(nodeFile).toMatchObject({ fhirBaseUrl: `${first.url}/fhir`, pid: first.child.pid });

    const second = await runCli(['serve', '--data', dataDir, '--port', '0']);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain(`already served by a Liaison node at ${first.url} (process ${first.child.pid})`);
    // The running node is untouched.
    expect((await fetch(`${first.url}/health`)).status).toBe(200);

    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    expect(existsSync(join(dataDir, 'node.json'))).toBe(false);
  });

  it('leaves node.json behind when killed; the next one to hold the folder removes it, never trusting its dead address', async () => {
    const dataDir = folder('liaison-killed-');
    const node = await serve(dataDir);
    node.child.kill('SIGKILL');
    await node.exited;
    expect(JSON.parse(readFileSync(join(dataDir, 'node.json'), 'utf8')).pid).toBe(node.child.pid);
    const shown = await runCli(['auth', 'show', '--data', dataDir]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ provider: 'none', localAccounts: true });
    expect(existsSync(join(dataDir, 'node.json'))).toBe(false);
  });

  it('says aloud that its port is taken, takes another, and writes it in node.json', async () => {
    const dataDir = folder('liaison-port-');
    const taken = await takenPort();
    try {
      const node = await serve(dataDir, 15_000, ['--port', String(taken.port)]);
      expect(Number(new URL(node.url).port)).not.toBe(taken.port);
      expect(node.output().stderr).toContain(`Warning: Port ${taken.port} is taken`);
      const nodeFile = JSON.parse(readFileSync(join(dataDir, 'node.json'), 'utf8')) as Json;
      expect(nodeFile).toMatchObject({ port: Number(new URL(node.url).port), preferredPort: taken.port, portNote: expect.stringContaining(node.url) });
      node.child.kill('SIGTERM');
      await node.exited;
    } finally {
      await taken.release();
    }
  });
});

describe('liaison users and auth', () => {
  const dataDir = folder('liaison-cli-users-');

  it('users add makes the first admin headless, its password read from standard input', async () => {
    const added = await runCli(['users', 'add', '--data', dataDir, '--login', 'Admin', '--name', 'Marie Curie', '--role', 'admin', 'staff'], 20_000, { input: `${PASSWORD}\n` });
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ login: 'admin', roles: ['admin', 'staff'], localAccount: true, mustChangePassword: false });
    expect(added.stdout + added.stderr).not.toContain(PASSWORD);
    const short = await runCli(['users', 'add', '--data', dataDir, '--login', 'other', '--role', 'staff'], 20_000, { input: 'short\n' });
    expect(short.code).not.toBe(0);
    expect(short.stderr).toContain('at least 12 characters');
    // Never from the command line.
    expect((await runCli(['users', 'add', '--data', dataDir, '--login', 'x', '--role', 'staff', '--password', PASSWORD])).stderr).toContain("unknown option '--password'");
  });

  it('auth set saves the provider with its secret sealed, and auth show never prints the secret', async () => {
    const set = await runCli(['auth', 'set', '--data', dataDir, '--provider', 'oidc', '--issuer', 'https://idp.example/realms/cabinet', '--client-id', 'liaison'], 20_000, { input: `${SECRET}\n` });
    expect(set.code, set.stderr).toBe(0);
    const shown = await runCli(['auth', 'show', '--data', dataDir]);
    expect(JSON.parse(shown.stdout)).toEqual({ provider: 'oidc', issuer: 'https://idp.example/realms/cabinet', clientId: 'liaison', localAccounts: true, hasClientSecret: true, overriddenByFlags: false });
    for (const output of [set.stdout, set.stderr, shown.stdout, shown.stderr]) expect(output).not.toContain(SECRET);
    const settings = readFileSync(join(dataDir, 'settings.json'), 'utf8');
    expect(settings).not.toContain(SECRET);
    expect(statSync(join(dataDir, 'settings.json')).mode & 0o777).toBe(0o600);
    const refused = await runCli(['auth', 'set', '--data', dataDir, '--provider', 'oidc', '--client-id', 'liaison']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('issuer');
  });

  it('goes through the running node: a new account logs in at once, a provider change applies at once, the folder is never written twice', async () => {
    const node = await serve(dataDir);
    try {
      expect((await call(node.url, 'GET', '/auth/config')).body).toMatchObject({ provider: { kind: 'oidc', issuer: 'https://idp.example/realms/cabinet' }, setup: false });
      expect((await passwordLogin(node.url, 'admin', PASSWORD)).tokens).toBeDefined();

      const added = await runCli(['users', 'add', '--data', dataDir, '--login', 'sophie', '--name', 'Sophie Leroy', '--role', 'staff'], 20_000, { input: 'her own password\n' });
      expect(added.code, added.stderr).toBe(0);
      expect((await passwordLogin(node.url, 'sophie', 'her own password')).tokens).toBeDefined();

      const reset = await runCli(['users', 'reset-password', 'sophie', '--data', dataDir]);
      expect(reset.code, reset.stderr).toBe(0);
      const temporary = /Temporary password: (\S+)/.exec(reset.stdout)![1];
      expect((await passwordLogin(node.url, 'sophie', temporary)).refused?.body.issue[0].details.coding[0].code).toBe('password-change-required');

      const disabled = await runCli(['users', 'disable', 'sophie', '--data', dataDir]);
      expect(disabled.code, disabled.stderr).toBe(0);
      expect((await passwordLogin(node.url, 'sophie', temporary)).refused?.body.issue[0].details.coding[0].code).toBe('account-disabled');

      const set = await runCli(['auth', 'set', '--data', dataDir, '--provider', 'psc-sandbox', '--client-id', 'liaison-bas'], 20_000, { env: { LIAISON_OIDC_CLIENT_SECRET: SECRET } });
      expect(set.code, set.stderr).toBe(0);
      expect((await call(node.url, 'GET', '/auth/config')).body.provider).toEqual({ kind: 'psc-sandbox', issuer: 'https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet', label: 'Pro Santé Connect (bac à sable)' });
      const shown = await runCli(['auth', 'show', '--data', dataDir]);
      expect(JSON.parse(shown.stdout)).toMatchObject({ provider: 'psc-sandbox', clientId: 'liaison-bas', hasClientSecret: true });
      expect(shown.stdout).not.toContain(SECRET);

      // A directory import goes through the node too.
      const files = folder('liaison-cli-extraction-');
      const extraction = generateExtraction(files, { lines: 50, seed: 5 });
      const imported = await runCli(['directory', 'import', extraction.activityFile, '--data', dataDir], 60_000);
      expect(imported.code, imported.stderr).toBe(0);
      expect(imported.stderr).toContain(`A node serves this folder (${node.url})`);
      expect(imported.stdout).toContain('lines imported');

      const reindex = await runCli(['reindex', '--data', dataDir]);
      expect(reindex.code).not.toBe(0);
      expect(reindex.stderr).toContain('already served by a Liaison node');
      expect(reindex.stderr).toContain('stop it, then run liaison reindex again');

      // Nothing in the folder holds the secrets or passwords in clear; the node's log neither.
      for (const file of readdirSync(dataDir, { recursive: true }) as string[]) {
        const path = join(dataDir, file);
        if (!statSync(path).isFile()) continue;
        const bytes = readFileSync(path);
        for (const secret of [SECRET, PASSWORD, 'her own password']) expect(bytes.includes(secret), path).toBe(false);
      }
      const { stdout, stderr } = node.output();
      for (const secret of [SECRET, PASSWORD, 'her own password', temporary]) expect(stdout + stderr).not.toContain(secret);
    } finally {
      node.child.kill('SIGTERM');
      await node.exited;
    }
  }, 120_000);
});
