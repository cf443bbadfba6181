import { relative, resolve, sep } from 'node:path';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';

const root = import.meta.dirname;
const serverDir = resolve(root, 'src-server') + sep;
const nodeProcessEntry = resolve(root, 'src-server/node-process.ts');

/**
 * The server modules find their resources (`resources/fhir/…`, `package.json`) relative to their own source file
 * through `import.meta.url`, at depths from one to three folders. Bundled into out/main/node-process.js those paths
 * would point nowhere, so each module's `import.meta.url` becomes "its source path under the app root", the root the
 * node process (node-process.ts) receives from the main process (`app.getAppPath()`: the project, or app.asar once packaged).
 */
function serverResourceUrls(): Plugin {
  return {
    name: 'liaison:server-resource-urls',
    transform(code, id) {
      if (!id.startsWith(serverDir) || id === nodeProcessEntry || !code.includes('import.meta.url')) return undefined;
      const sourcePath = relative(root, id).split(sep).join('/');
      return { code: code.replaceAll('import.meta.url', `new URL(${JSON.stringify(sourcePath)}, globalThis.__LIAISON_APP_ROOT__).href`), map: null };
    },
  };
}

// Outputs: out/main (the main process and the node process, node-process.ts), out/preload, out/renderer.
// `dependencies` (the server packages) stay external; everything else is bundled.
export default defineConfig({
  main: {
    plugins: [serverResourceUrls()],
    build: {
      // The text index, the directory import and the backup's database copy run in worker threads: their modules are files of their own.
      lib: {
        entry: {
          index: resolve(root, 'src-main/index.ts'),
          'node-process': nodeProcessEntry,
          'text-worker': resolve(root, 'src-server/text/text-worker.ts'),
          'backup-worker': resolve(root, 'src-server/backup/database-copy-worker.ts'),
          'directory-worker': resolve(root, 'src-server/directory/activity-worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      lib: { entry: resolve(root, 'src-main/preload/index.ts') },
      // With "type": "module" electron-vite would emit an ES module preload (index.mjs),
      // which Electron refuses in sandboxed renderers: force CommonJS (index.cjs).
      rolldownOptions: { output: { format: 'cjs' } },
    },
  },
  renderer: {
    root: resolve(root, 'src-renderer'),
    base: './',
    build: {
      rolldownOptions: { input: resolve(root, 'src-renderer/index.html') },
    },
    plugins: [vue()],
  },
});
