import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { OWNER_CLIENT_FILE } from './auth/clients';
import { loadHeadlessDataKey, subkey } from './data-key';
import { FhirError } from './fhir/outcome';
import { DATABASE_FILE } from './node';
import { FolderInUseError, lockDataFolder } from './node-lock';
import { resealUnderDataKey } from './sealed-secrets';
import { useDataKey } from './sealing';
import { openDatabase, type Db } from './store/database';

/**
 * How a `liaison` command that writes reaches a data folder: directly, holding the folder's lock so no node starts
 * meanwhile, when no node serves it; through the running node's admin API (as its owner client, whose credentials
 * are in the folder) when one does, so that the node applies the change at once and two writers never meet. A
 * command that has no admin API to go through refuses, saying why.
 */

/** The admin API of the node serving a folder, called as the folder's owner client. */
export class AdminApi {
  private token: string | undefined;

  constructor(
    /** The node's address, `http://127.0.0.1:8347`. */
    readonly url: string,
    private readonly dataDir: string,
  ) {}

  /** Calls the node; a refusal becomes an Error with the node's diagnostics. */
  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const text = await (await this.fetch(method, path, body)).text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** Calls the node, the answer's body left to read (a stream); a refusal becomes an Error with the node's diagnostics. */
  async fetch(method: string, path: string, body?: unknown): Promise<Response> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${await this.bearer()}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    if (!response.ok) {
      const text = await response.text();
      const issues = (text.startsWith('{') ? (JSON.parse(text) as { issue?: Array<{ diagnostics?: string }> }) : {}).issue;
      throw new Error(`the node at ${this.url} refused ${method} ${path} (${response.status}): ${issues?.map((issue) => issue.diagnostics).join('; ') ?? text.slice(0, 300)}`);
    }
    return response;
  }

  private async bearer(): Promise<string> {
    if (this.token) return this.token;
    const credentials = JSON.parse(readFileSync(join(this.dataDir, OWNER_CLIENT_FILE), 'utf8')) as { client_id: string; client_secret: string };
    const response = await fetch(`${this.url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', ...credentials }) });
    if (!response.ok) throw new Error(`the node at ${this.url} refused this folder's owner credentials (${response.status}): ${await response.text()}`);
    this.token = ((await response.json()) as { access_token: string }).access_token;
    return this.token;
  }
}

export interface FolderWork<T> {
  /** No node serves the folder: the work on its database, the folder locked meanwhile. */
  direct(db: Db, dataDir: string): T | Promise<T>;
  /** A node serves it: the work through its admin API; absent: the command refuses. */
  served?(api: AdminApi): Promise<T>;
  /** What the refusal says to do instead, when `served` is absent. */
  refusal?: string;
}

export async function withDataFolder<T>(folder: string, work: FolderWork<T>): Promise<T> {
  const dataDir = resolve(folder);
  let lock;
  try {
    lock = lockDataFolder(dataDir);
  } catch (error) {
    if (!(error instanceof FolderInUseError)) throw error;
    if (!error.url) throw error;
    if (!work.served) throw new Error(`${error.message}\n${work.refusal ?? 'This command works on a folder no node serves: stop the node first.'}`);
    return work.served(new AdminApi(error.url, dataDir));
  }
  let db: Db;
  try {
    db = await openFolderDatabase(dataDir);
  } catch (error) {
    lock.release();
    throw error;
  }
  try {
    return await work.direct(db, dataDir);
  } catch (error) {
    // A refused request (bad scope, unknown client) reads as the node would say it.
    throw error instanceof FhirError ? new Error(error.message) : error;
  } finally {
    db.close();
    lock.release();
  }
}

/**
 * The folder's database, opened with the folder's key as a command without a desktop finds it (data-key.ts
 * `headlessKeySource`: LIAISON_KEY_FILE or LIAISON_PASSPHRASE).
 */
export async function openFolderDatabase(folder: string): Promise<Db> {
  const dataDir = resolve(folder);
  const dataKey = await loadHeadlessDataKey(dataDir);
  useDataKey(dataDir, dataKey);
  const db = openDatabase(join(dataDir, DATABASE_FILE), { key: subkey(dataKey, 'database') });
  try {
    resealUnderDataKey(dataDir, db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** Opens the folder's database to read it (a running node may write meanwhile), and closes it whatever happens. */
export async function readFolder<T>(folder: string, work: (db: Db, dataDir: string) => T): Promise<T> {
  const db = await openFolderDatabase(folder);
  try {
    return work(db, resolve(folder));
  } finally {
    db.close();
  }
}

/**
 * Reads a secret from standard input (never from the command line, which other users of the computer see): a line
 * typed after `prompt` at a terminal, or everything piped in. Empty when nothing comes.
 */
export async function readSecret(prompt: string): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write(prompt);
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (process.stdin.isTTY && text.includes('\n')) break;
  }
  return text.replace(/\r?\n$/, '').trim();
}
