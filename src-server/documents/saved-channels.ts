import { refusal } from '../fhir/outcome';
import { isJson, type Json } from '../fhir/json';
import { dataFolderKey, seal, unseal } from '../sealing';
import type { Db } from '../store/database';
import { checkChannelSettings, type ChannelSettings } from './channel-settings';

/**
 * The channels an admin set up in Réglages (`/admin/channels`), kept in the database: each channel's settings as
 * JSON, and its secrets (the relay's password and certificate key, the DMP gateway's headers) sealed under the data
 * key apart from them. Secrets go in and never come out: the view says which are saved, and a change that leaves one
 * out keeps it (`null` removes it).
 */

export const SAVED_CHANNELS = ['mssante', 'dpi', 'dmp'] as const;
export type SavedChannel = (typeof SAVED_CHANNELS)[number];

/** Where each channel's secrets sit in its settings. */
const SECRETS: Record<SavedChannel, ReadonlyArray<readonly [string, ...string[]]>> = {
  mssante: [['auth', 'pass'], ['clientCertificate', 'key']],
  dpi: [],
  dmp: [['headers']],
};

/** A channel's settings as an admin reads them: without its secrets, and the names of those saved (`auth.pass`…). */
export interface ChannelView {
  settings: Json;
  savedSecrets: string[];
}

export const isSavedChannel = (value: string): value is SavedChannel => (SAVED_CHANNELS as readonly string[]).includes(value);

export class SavedChannels {
  constructor(
    private readonly db: Db,
    private readonly dataDir: string,
  ) {}

  /** The saved channels' settings with their secrets, as the channels use them. */
  load(): ChannelSettings {
    const rows = this.db.prepare('SELECT channel, settings, secrets FROM channel_settings').all() as Array<{ channel: string; settings: string; secrets: string | null }>;
    const settings: Record<string, Json> = {};
    for (const row of rows) {
      if (!isSavedChannel(row.channel)) continue;
      const secrets = row.secrets ? (JSON.parse(unseal(dataFolderKey(this.dataDir), row.secrets)) as Record<string, unknown>) : {};
      settings[row.channel] = withSecrets(JSON.parse(row.settings) as Json, row.channel, secrets);
    }
    return settings as ChannelSettings;
  }

  /**
   * Checks an admin's settings for one channel against the saved ones (secrets left out are kept) and saves them.
   * 400 `channel-settings-invalid` naming the field. Returns the settings of every saved channel, secrets in.
   */
  save(channel: SavedChannel, change: unknown): ChannelSettings {
    const next = this.merged(channel, change);
    const { settings, secrets } = split(next, channel);
    const sealed = Object.keys(secrets).length > 0 ? seal(dataFolderKey(this.dataDir), JSON.stringify(secrets)) : null;
    this.db
      .prepare('INSERT INTO channel_settings (channel, settings, secrets, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (channel) DO UPDATE SET settings = excluded.settings, secrets = excluded.secrets, updated_at = excluded.updated_at')
      .run(channel, JSON.stringify(settings), sealed, new Date().toISOString());
    return this.load();
  }

  /** Removes a channel's settings (its deliveries then end "not configured"). */
  remove(channel: SavedChannel): ChannelSettings {
    this.db.prepare('DELETE FROM channel_settings WHERE channel = ?').run(channel);
    return this.load();
  }

  /** An admin's settings for one channel, checked, with the saved secrets it leaves out: what "Tester" tries. */
  merged(channel: SavedChannel, change: unknown): Json {
    if (!isJson(change)) throw invalid(`Send the ${channel} channel's settings as a JSON object`, channel);
    const saved = (this.load()[channel] as Json | undefined) ?? {};
    const next = structuredClone(change);
    for (const path of SECRETS[channel]) {
      const parent = parentOf(next, path);
      const key = path[path.length - 1];
      if (!parent) continue;
      if (parent[key] === null) delete parent[key];
      else if (parent[key] === undefined || parent[key] === '') {
        const kept = valueAt(saved, path);
        if (kept === undefined) delete parent[key];
        else parent[key] = kept;
      }
    }
    try {
      checkChannelSettings({ [channel]: next }, 'Réglages');
    } catch (error) {
      const message = (error as Error).message.replace(/^Channel settings \(Réglages\): /, '');
      throw invalid(message, /\b((?:mssante|dpi|dmp)(?:\.\w+)*)/.exec(message)?.[1] ?? channel);
    }
    return next;
  }
}

/** A channel's view: its settings without secrets, and which secrets it holds. */
export function viewOf(channel: SavedChannel, settings: object): ChannelView {
  const { settings: open, secrets } = split(settings as Json, channel);
  return { settings: open, savedSecrets: Object.keys(secrets) };
}

function split(settings: Json, channel: SavedChannel): { settings: Json; secrets: Record<string, unknown> } {
  const open = structuredClone(settings);
  const secrets: Record<string, unknown> = {};
  for (const path of SECRETS[channel]) {
    const parent = parentOf(open, path);
    const key = path[path.length - 1];
    if (parent?.[key] === undefined) continue;
    secrets[path.join('.')] = parent[key];
    delete parent[key];
  }
  return { settings: open, secrets };
}

function withSecrets(settings: Json, channel: SavedChannel, secrets: Record<string, unknown>): Json {
  for (const path of SECRETS[channel]) {
    const value = secrets[path.join('.')];
    const parent = parentOf(settings, path);
    if (value !== undefined && parent) parent[path[path.length - 1]] = value;
  }
  return settings;
}

/** The object holding the last key of `path` (undefined when the way there is absent). */
function parentOf(settings: Json, path: readonly string[]): Json | undefined {
  let at: unknown = settings;
  for (const key of path.slice(0, -1)) at = isJson(at) ? at[key] : undefined;
  return isJson(at) ? at : undefined;
}

function valueAt(settings: Json, path: readonly string[]): unknown {
  return parentOf(settings, path)?.[path[path.length - 1]];
}

const invalid = (message: string, field: string) => refusal(400, 'channel-settings-invalid', message, field);
