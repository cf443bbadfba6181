#!/usr/bin/env node
// `npm run bench [-- name...]`: runs bench/*.bench.ts in name order, or only those whose name contains one of
// the arguments. Each runs in a fresh process so one's heap, JIT state and leftovers cannot skew the next.
// Benchmarks print one JSON line per figure on stdout and their progress on stderr.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const RUN_ONE = '--run-one';

if (process.argv[2] === RUN_ONE) {
  // Child mode: TypeScript through tsx, as bin/liaison.js does, then the benchmark module runs on import.
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(process.argv[3]).href);
} else {
  const benchDir = fileURLToPath(new URL('../bench/', import.meta.url));
  const filters = process.argv.slice(2);
  const files = readdirSync(benchDir)
    .filter((name) => name.endsWith('.bench.ts'))
    .filter((name) => filters.length === 0 || filters.some((filter) => name.includes(filter)))
    .sort();
  if (files.length === 0) {
    console.error(`No benchmark in ${benchDir} matches ${filters.join(', ') || '*.bench.ts'}`);
    process.exit(2);
  }
  const failed = [];
  for (const name of files) {
    console.error(`# ${name}`);
    const code = await new Promise((resolve) => {
      const child = spawn(process.execPath, [fileURLToPath(import.meta.url), RUN_ONE, `${benchDir}${name}`], { stdio: 'inherit' });
      child.once('error', () => resolve(1));
      child.once('exit', (exitCode, signal) => resolve(signal ? 1 : exitCode));
    });
    if (code !== 0) failed.push(name);
  }
  if (failed.length > 0) {
    console.error(`Failed: ${failed.join(', ')}`);
    process.exit(1);
  }
}
