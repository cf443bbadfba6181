import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomically } from './node-settings';

/**
 * `<data>/node.json` (0600): where the node serving this data folder answers, for the practice's software and for the
 * `liaison` commands run meanwhile (README, "Connect the practice's software"). Written at every start, rewritten when
 * something in it changes (the set-up done), removed on a clean stop. After a crash it stays behind, stale: whether a
 * node serves the folder is the folder's lock (node-lock.ts), never this file.
 */

export const NODE_FILE = 'node.json';

export interface NodeFile {
  /** `http://127.0.0.1:8347/fhir`: what the practice's software calls. */
  fhirBaseUrl: string;
  /** The web UI (the headless node's; the desktop app has its window). */
  uiUrl: string;
  pid: number;
  version: string;
  /** ISO 8601. */
  startedAt: string;
  port: number;
  /** The port the node asked for; another one when it was taken (`portNote` says so). */
  preferredPort: number;
  portNote?: string;
  /** While the data folder has no user: the code `POST /setup` needs (the file is the owner's only). */
  setupCode?: string;
}

export function writeNodeFile(dataDir: string, content: NodeFile): void {
  writeFileAtomically(join(dataDir, NODE_FILE), `${JSON.stringify(content, null, 2)}\n`);
}

export function removeNodeFile(dataDir: string): void {
  rmSync(join(dataDir, NODE_FILE), { force: true });
}

/** What node.json says, or undefined when there is none (or it cannot be read). */
export function readNodeFile(dataDir: string): NodeFile | undefined {
  const file = join(dataDir, NODE_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as NodeFile;
  } catch {
    return undefined;
  }
}
