import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure logic, next to the code, no broker) and `integration` (test/, against
// the real Kafka and schema registry that test/global-setup.ts starts when KAFKA_BROKERS is unset).
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
          // Fault tests kill their own broker and take minutes: `npm run test:faults` (vitest.faults.config.ts).
          exclude: ['test/faults/**'],
          environment: 'node',
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Two cores: integration files share one broker; a little parallelism, not a stampede.
          maxWorkers: 2,
        },
      },
    ],
  },
});
