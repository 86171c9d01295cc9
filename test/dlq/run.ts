/** Runs the dlq CLI as the SRE does (its own process), against a test environment. */
import { spawn } from 'node:child_process';
import type { TestEnv } from '../support/env.ts';

export function runDlq(
  env: TestEnv,
  keys: string,
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['services/dlq/src/main.ts', ...args], {
    env: {
      ...process.env,
      KAFKA_BROKERS: env.brokers,
      TOPIC_PREFIX: env.prefix,
      TOPIC_PARTITIONS: '3',
      SUBSCRIPTION_ENCRYPTION_KEYS: keys,
      LOG_LEVEL: 'fatal',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}
