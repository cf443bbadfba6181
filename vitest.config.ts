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
    // expect.poll waits for a condition: 1 s (its default) is short for a node or a page on a loaded machine.
    expect: { poll: { timeout: 15_000 } },
  },
});
