import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * Where a node keeps its data when no `--data` is given: the platform's per-user application data folder,
 * the same place Electron's `app.getPath('userData')` points at for an app named Liaison.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.LIAISON_DATA) return env.LIAISON_DATA;
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Liaison');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Liaison');
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'Liaison');
}

/**
 * Whether `path` is `folder` or lies under it, both resolved. A key or recovery kit must never be written there: a
 * copy of the folder would carry its own key.
 */
export function isInsideFolder(folder: string, path: string): boolean {
  const inside = relative(resolve(folder), resolve(path));
  return inside === '' || (!isAbsolute(inside) && inside !== '..' && !inside.startsWith(`..${sep}`));
}
