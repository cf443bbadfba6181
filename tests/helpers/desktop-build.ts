import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';

/** The project root: the built node resolves its packages (node_modules) and resources from here. */
export const projectRoot = join(import.meta.dirname, '../..');

/**
 * Builds the desktop app (`electron-vite build`) into a fresh folder under node_modules/.tmp: inside the project, so
 * the externalised packages resolve from the bundle as they do in the app, and away from `out/`, which other tests
 * and `npm start` use.
 */
export function buildDesktop(prefix: string): string {
  const parent = join(projectRoot, 'node_modules/.tmp');
  mkdirSync(parent, { recursive: true });
  const outDir = mkdtempSync(join(parent, prefix));
  execFileSync('npx', ['electron-vite', 'build', '--outDir', outDir, '--logLevel', 'warn'], { cwd: projectRoot, stdio: 'pipe' });
  return outDir;
}
