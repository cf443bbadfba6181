import { resolve } from 'node:path';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'electron-vite';

const root = import.meta.dirname;

// Outputs: out/main, out/preload, out/renderer (electron-vite defaults).
// `dependencies` (the server packages) stay external; everything else is bundled.
export default defineConfig({
  main: {
    build: {
      lib: { entry: resolve(root, 'src-main/index.ts') },
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
