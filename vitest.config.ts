import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Single-file components of the renderer, for its component tests (tests/src-renderer, happy-dom per file).
  plugins: [vue()],
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30000,
    hookTimeout: 60000,
  },
});
