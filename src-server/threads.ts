import { Worker } from 'node:worker_threads';

declare global {
  /** Set by the desktop build's node process (node-process.ts): where bundled server modules find their resources. */
  var __LIAISON_APP_ROOT__: string | undefined;
}

/**
 * Starts a worker thread on a module. The thread starts from a small bootstrap: TypeScript source (tsx, tests)
 * registers tsx in its own thread first, and a desktop bundle's app root is set before the worker's modules load
 * (they read resources as they load).
 */
export function startWorker(url: URL, workerData: unknown): Worker {
  const steps: string[] = [];
  if (globalThis.__LIAISON_APP_ROOT__) steps.push(`globalThis.__LIAISON_APP_ROOT__ = ${JSON.stringify(globalThis.__LIAISON_APP_ROOT__)};`);
  if (url.pathname.endsWith('.ts')) steps.push(`const { register } = await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}); register();`);
  steps.push(`await import(${JSON.stringify(url.href)});`);
  return new Worker(steps.join('\n'), { eval: true, workerData });
}
