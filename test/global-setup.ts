/**
 * Integration tests run against a real broker and registry. When KAFKA_BROKERS is given they use it
 * (and SCHEMA_REGISTRY_URL); otherwise the local stack is started here, once, and stopped at the end
 * if this run started it. (Docker users can point KAFKA_BROKERS at `docker compose up`; the
 * testcontainers route is documented in the README and was not exercised on the Docker-less machines
 * this project is developed on.)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';

const STACK = new URL('../scripts/stack.sh', import.meta.url).pathname;

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    registryUrl: string;
  }
}

export default function setup(project: TestProject) {
  let started = false;
  if (!process.env.KAFKA_BROKERS) {
    started = spawnSync('bash', [STACK, 'status'], { stdio: 'ignore' }).status !== 0;
    if (started) execFileSync('bash', [STACK, 'start'], { stdio: 'inherit' });
    const env = execFileSync('bash', [STACK, 'env'], { encoding: 'utf8' });
    for (const line of env.trim().split('\n')) {
      const [k, v] = line.split('=', 2) as [string, string];
      process.env[k] ??= v;
    }
  }
  project.provide('kafkaBrokers', process.env.KAFKA_BROKERS!);
  project.provide('registryUrl', process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7');
  return () => {
    if (started) execFileSync('bash', [STACK, 'stop'], { stdio: 'inherit' });
  };
}
