import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts', 'test/**/*.test.tsx'],
    globalSetup: ['test/global-setup.ts'],
    // pty and real-peer tests walk many steps; on a loaded 2-core machine 30 s was too tight.
    testTimeout: 90_000,
    hookTimeout: 60_000,
    env: { NO_COLOR: '1', FORCE_COLOR: '0' },
  },
});
