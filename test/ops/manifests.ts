/**
 * Reads deploy/k8s: every YAML document with its file, and the per-Deployment facts the ops tests
 * check (the service it runs, its env, its probes). Offline: nothing here talks to a cluster.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const K8S_DIR = join(ROOT, 'deploy/k8s');

export interface Manifest {
  file: string;
  // biome-ignore lint/suspicious/noExplicitAny: raw Kubernetes objects, validated by kubernetes-models
  doc: any;
}

export function loadManifests(): Manifest[] {
  const out: Manifest[] = [];
  for (const file of readdirSync(K8S_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    for (const d of parseAllDocuments(readFileSync(join(K8S_DIR, file), 'utf8'))) {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`);
      const doc = d.toJS();
      if (doc !== null) out.push({ file, doc });
    }
  }
  return out;
}

/** The service folder a container runs: `node services/<svc>/src/main.ts`. */
export function serviceOf(container: { command?: string[] }): string {
  const script = container.command?.find((c) => /^services\/[a-z-]+\/src\/main\.ts$/.test(c));
  if (!script)
    throw new Error(`container ${JSON.stringify(container.command)} runs no services/<svc>/src/main.ts`);
  return script.split('/')[1]!;
}

/** Env var names a service's convict schema knows: `env: 'NAME'` in its sources and libs/config. */
export function schemaEnvKeys(service: string): Set<string> {
  const keys = new Set<string>();
  const scan = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) scan(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
        for (const m of readFileSync(path, 'utf8').matchAll(/\benv: '([A-Z][A-Z0-9_]*)'/g)) keys.add(m[1]!);
    }
  };
  scan(join(ROOT, 'services', service, 'src'));
  // Shared schema fragments live in the libs the service depends on (libs/config, libs/subscriptions, …).
  const manifest = JSON.parse(readFileSync(join(ROOT, 'services', service, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  for (const dep of Object.keys(manifest.dependencies ?? {})) {
    const lib = join(ROOT, 'libs', dep.replace('@hookpost/', ''), 'src');
    if (dep.startsWith('@hookpost/') && existsSync(lib)) scan(lib);
  }
  return keys;
}

/**
 * The shutdown bound runService enforces for a service: its main.ts `shutdownTimeoutMs` (a literal
 * or a const in that file), else libs/service's default.
 */
export function shutdownBoundMs(service: string): number {
  const num = (s: string) => Number(s.replaceAll('_', ''));
  const lib = readFileSync(join(ROOT, 'libs/service/src/index.ts'), 'utf8');
  const fallback = /shutdownTimeoutMs \?\? ([\d_]+)/.exec(lib);
  if (!fallback) throw new Error('libs/service no longer shows its default shutdown bound');
  const main = readFileSync(join(ROOT, 'services', service, 'src/main.ts'), 'utf8');
  const set = /shutdownTimeoutMs: ([A-Za-z_][\w]*|[\d_]+)/.exec(main);
  if (!set) return num(fallback[1]!);
  if (/^[\d_]+$/.test(set[1]!)) return num(set[1]!);
  const constant = new RegExp(`const ${set[1]} = ([\\d_]+)`).exec(main);
  if (!constant) throw new Error(`${service}: cannot read the value of ${set[1]}`);
  return num(constant[1]!);
}
