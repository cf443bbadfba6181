import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Single-file components of the renderer, for its component tests (tests/src-renderer, happy-dom per file).
  plugins: [vue()],
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    // Timeouts catch a hang, not a slow machine: the slowest test (5,000+ searches of the capability check) took 23 s
    // and then 30+ s while another heavy process ran on 2 cores, and a fixed 30 s failed it (issue 20).
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // expect.poll waits for a condition: 1 s (its default) is short for a node or a page on a loaded machine.
    expect: { poll: { timeout: 15_000 } },
    // No test node (in this process or a child) refreshes its directory from the ANS service: those that test the
    // refresh give their own server (docs/directory.md, "Daily refresh").
    env: { LIAISON_DIRECTORY_SOURCE: 'off' },
  },
});
