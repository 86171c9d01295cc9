import { defineConfig } from 'vitest/config';

// Three projects: `unit` (pure logic, next to the code, no broker), `integration` (test/, against
// the real Kafka and schema registry that test/global-setup.ts starts when KAFKA_BROKERS is unset) and
// `perf` (test/perf/*.perf.test.ts: timing figures and their loose bounds, kept out of the correctness
// run). The perf project exists only with HP_PERF=1, so `npm test` (and `npm test -- <file>`) runs unit
// and integration alone; `npm run test:perf` runs perf, and CI reports it without gating on it: two
// shared cores make timings noisy.
const perf = {
  test: {
    name: 'perf',
    include: ['test/perf/**/*.perf.test.ts'],
    environment: 'node' as const,
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One file at a time: the figures are timings.
    maxWorkers: 1,
  },
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['libs/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          // Perf figures (`npm run test:perf`) and the fault tests (`npm run test:faults`, which kill their
          // own broker and take minutes) run on their own.
          exclude: ['test/perf/**', 'test/faults/**'],
          environment: 'node',
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Two cores: integration files share one broker; a little parallelism, not a stampede.
          maxWorkers: 2,
        },
      },
      ...(process.env.HP_PERF ? [perf] : []),
    ],
  },
});
