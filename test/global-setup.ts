/**
 * Integration tests run against a real broker and registry. When KAFKA_BROKERS is given they use it
 * (and SCHEMA_REGISTRY_URL); otherwise the local stack is started here, once, and stopped at the end
 * if this run started it. With HP_TESTCONTAINERS=1 the same stack comes from docker-compose.yml through
 * testcontainers instead; that route needs Docker and was NOT exercised on the Docker-less machines this
 * project is developed on.
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

export default async function setup(project: TestProject) {
  let started = false;
  let down: (() => Promise<unknown>) | undefined;
  if (!process.env.KAFKA_BROKERS && process.env.HP_TESTCONTAINERS === '1') {
    const { DockerComposeEnvironment, Wait } = await import('testcontainers');
    const compose = await new DockerComposeEnvironment(
      new URL('..', import.meta.url).pathname,
      'docker-compose.yml',
    )
      .withWaitStrategy('kafka-1', Wait.forHealthCheck())
      .withWaitStrategy('registry-1', Wait.forHttp('/apis/ccompat/v7/subjects', 8080))
      .up(['kafka', 'registry']);
    down = () => compose.down();
    process.env.KAFKA_BROKERS = '127.0.0.1:19092';
    process.env.SCHEMA_REGISTRY_URL = 'http://127.0.0.1:18081/apis/ccompat/v7';
  }
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
  return async () => {
    if (started) execFileSync('bash', [STACK, 'stop'], { stdio: 'inherit' });
    await down?.();
  };
}
