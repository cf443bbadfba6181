import { readFileSync } from 'node:fs';

/** The version of Liaison, from package.json. */
export const LIAISON_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
