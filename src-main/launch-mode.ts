import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What `npm start` (bin/start.js) launches: the desktop app when Electron can run, otherwise the node headless with
 * its web UI, saying why.
 */

export type LaunchMode = { mode: 'desktop' } | { mode: 'headless'; reason: string };

export interface LaunchEnvironment {
  electronInstalled: boolean;
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
}

export function chooseLaunchMode({ electronInstalled, platform, env }: LaunchEnvironment): LaunchMode {
  if (env.LIAISON_HEADLESS === '1') return { mode: 'headless', reason: 'LIAISON_HEADLESS=1 asks for it' };
  if (!electronInstalled) {
    return {
      mode: 'headless',
      reason: 'no Electron runtime is installed (its download was skipped with ELECTRON_SKIP_BINARY_DOWNLOAD or failed)',
    };
  }
  // Windows and macOS always have a display; elsewhere an X11 or Wayland session must be there.
  if (platform !== 'win32' && platform !== 'darwin' && !env.DISPLAY && !env.WAYLAND_DISPLAY) {
    return { mode: 'headless', reason: 'no graphical display was found (DISPLAY and WAYLAND_DISPLAY are unset)' };
  }
  return { mode: 'desktop' };
}

/** Whether the electron package's binary was downloaded (its install script writes path.txt, then the binary). */
export function electronInstalled(projectRoot: string): boolean {
  try {
    const binary = readFileSync(join(projectRoot, 'node_modules/electron/path.txt'), 'utf8').trim();
    return binary !== '' && existsSync(join(projectRoot, 'node_modules/electron/dist', binary));
  } catch {
    return false;
  }
}
