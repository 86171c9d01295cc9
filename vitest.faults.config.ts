import { defineConfig } from 'vitest/config';

// `npm run test:faults`: fault tests that kill and restart a broker. Each file starts a stack of its
// own (test/faults/stack.ts), so there is no global setup and no shared broker; one file at a time.
export default defineConfig({
  test: {
    name: 'faults',
    include: ['test/faults/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20 * 60_000,
    hookTimeout: 10 * 60_000,
    maxWorkers: 1,
  },
});
