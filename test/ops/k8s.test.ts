/**
 * deploy/k8s against the Kubernetes schemas (kubernetes-models, offline) and against the code: each
 * Deployment runs a real entry point, sets only env vars its convict schema knows, gets every required
 * key, probes the ops port, and is given more than its service's shutdown bound before SIGKILL.
 * The configuration check is the real one: the entry point is started with exactly the env the
 * manifests give it (plus test secrets) and a dead broker, and must get past config validation.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { SERVICE_ENV, SERVICE_NODE_ARGS, SERVICE_NODE_ARGS_OF, serviceNodeArgs } from '@hookpost/service';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  K8S_DIR,
  loadManifests,
  type Manifest,
  ROOT,
  schemaEnvKeys,
  serviceOf,
  shutdownBoundMs,
} from './manifests.ts';

// biome-ignore lint/suspicious/noExplicitAny: model constructors take raw objects
const MODELS: Record<string, new (o: any) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'batch/v1/Job': Job,
};

const manifests = loadManifests();
const objects = manifests.filter((m) => m.doc.kind !== 'Kustomization');
const ofKind = (kind: string) => objects.filter((m) => m.doc.kind === kind);
const deployments = ofKind('Deployment');
const configMap = ofKind('ConfigMap')[0]!.doc;
const secret = ofKind('Secret')[0]!.doc;
const opsPort = Number(configMap.data.HTTP_PORT);

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

function container(m: Manifest) {
  const containers = m.doc.spec.template.spec.containers;
  expect(containers, `${m.file}: one container per pod`).toHaveLength(1);
  return containers[0];
}

/** The env a pod of this workload gets: ConfigMap (envFrom), literal env, secrets (test values). */
function podEnv(m: Manifest, secrets: Record<string, string>): Record<string, string> {
  const c = container(m);
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    expect(from.configMapRef?.name, `${m.file}: envFrom only the ConfigMap`).toBe(configMap.metadata.name);
    Object.assign(env, configMap.data);
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else {
      const ref = e.valueFrom.secretKeyRef;
      expect(ref.name).toBe(secret.metadata.name);
      expect(Object.keys(secret.stringData), `${m.file}: ${ref.key} is in the Secret template`).toContain(
        ref.key,
      );
      env[e.name] = secrets[ref.key]!;
    }
  }
  return env;
}

describe('deploy/k8s manifests', () => {
  it("runs each workload's entry with its service's own node flags (SERVICE_NODE_ARGS_OF)", () => {
    for (const m of [...deployments, ...ofKind('Job')]) {
      const command: string[] = container(m).command;
      const entry = command.at(-1)!;
      const own = serviceNodeArgs(entry).slice(SERVICE_NODE_ARGS.length);
      expect(command, m.file).toEqual(['node', ...own, entry]);
    }
  });

  it('are valid Kubernetes objects (kubernetes-models schemas, offline)', () => {
    expect(objects.length).toBeGreaterThan(10);
    for (const { file, doc } of objects) {
      const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
      expect(Model, `${file}: no model for ${doc.apiVersion} ${doc.kind}`).toBeDefined();
      expect(() => new Model!(doc).validate(), `${file}: ${doc.kind} ${doc.metadata?.name}`).not.toThrow();
      expect(doc.metadata.namespace ?? doc.metadata.name, `${file}: namespaced in hookpost`).toBe('hookpost');
    }
  });

  it('a schema violation is caught (the validator is not a no-op)', () => {
    const broken = structuredClone(deployments[0]!.doc);
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'ops';
    expect(() => new Deployment(broken).validate()).toThrow(/containerPort/);
  });

  it('kustomization lists every manifest except the Secret template', () => {
    const k = parse(readFileSync(join(K8S_DIR, 'kustomization.yaml'), 'utf8'));
    const files = readdirSync(K8S_DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...k.resources].sort()).toEqual(files.filter((f) => f !== 'secret.template.yaml').sort());
  });

  it('one Deployment per role, each with a PodDisruptionBudget selecting exactly its pods', () => {
    const names = deployments.map((d) => d.doc.metadata.name).sort();
    expect(names).toEqual(
      ['api', 'batcher', 'delivery-main', 'delivery-retry', 'delivery-suspender', 'fanout'].sort(),
    );
    const pdbs = ofKind('PodDisruptionBudget');
    for (const d of deployments) {
      const labels = d.doc.spec.template.metadata.labels;
      expect(matches(d.doc.spec.selector.matchLabels, labels), `${d.file}: selector matches its pods`).toBe(
        true,
      );
      const own = pdbs.filter((p) => matches(p.doc.spec.selector.matchLabels, labels));
      expect(own, `${d.file}: exactly one PDB`).toHaveLength(1);
      const others = deployments.filter((o) => o !== d);
      for (const o of others)
        expect(matches(own[0]!.doc.spec.selector.matchLabels, o.doc.spec.template.metadata.labels)).toBe(
          false,
        );
    }
  });

  it('each Deployment probes /healthz and /readyz on the ops port, which Prometheus scrapes', () => {
    for (const d of deployments) {
      const c = container(d);
      const ops = c.ports.find((p: { name: string }) => p.name === 'ops');
      expect(ops?.containerPort, `${d.file}: ops port = HTTP_PORT`).toBe(opsPort);
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'ops' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'ops' });
      expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'ops' });
      const a = d.doc.spec.template.metadata.annotations;
      expect(a['prometheus.io/scrape']).toBe('true');
      expect(Number(a['prometheus.io/port'])).toBe(opsPort);
      expect(a['prometheus.io/path']).toBe('/metrics');
    }
  });

  it('each Deployment requests CPU and memory and caps memory', () => {
    for (const d of [...deployments, ...ofKind('Job')]) {
      const r = container(d).resources;
      expect(r.requests.cpu, d.file).toBeTruthy();
      expect(r.requests.memory, d.file).toBeTruthy();
      expect(r.limits.memory, d.file).toBeTruthy();
    }
  });

  it('terminationGracePeriodSeconds leaves room above the service shutdown bound', () => {
    for (const d of deployments) {
      const svc = serviceOf(container(d));
      const boundS = shutdownBoundMs(svc) / 1000;
      // SIGKILL must never cut a shutdown that is still within its bound; 5 s covers the kubelet's own lag.
      expect(d.doc.spec.template.spec.terminationGracePeriodSeconds, d.file).toBeGreaterThanOrEqual(
        boundS + 5,
      );
    }
  });

  it('runs real entry points; the API Service targets the API port', () => {
    for (const w of [...deployments, ...ofKind('Job')]) {
      expect(existsSync(join(ROOT, 'services', serviceOf(container(w)), 'src/main.ts'))).toBe(true);
    }
    expect(serviceOf(container(ofKind('Job')[0]!))).toBe('provision');
    const api = deployments.find((d) => d.doc.metadata.name === 'api')!;
    const svc = ofKind('Service')[0]!.doc;
    expect(matches(svc.spec.selector, api.doc.spec.template.metadata.labels)).toBe(true);
    const http = container(api).ports.find((p: { name: string }) => p.name === svc.spec.ports[0].targetPort);
    expect(http?.containerPort).toBe(Number(podEnv(api, {}).API_PORT));
  });

  it('sets only env vars the service schema knows; ConfigMap keys are each used by some service', () => {
    const used = new Set<string>();
    for (const w of [...deployments, ...ofKind('Job')]) {
      const svc = serviceOf(container(w));
      const known = schemaEnvKeys(svc);
      for (const k of known) used.add(k);
      for (const e of container(w).env ?? [])
        expect(known, `${w.file}: ${e.name} is a ${svc} key`).toContain(e.name);
    }
    for (const k of Object.keys(configMap.data))
      expect(used, `ConfigMap ${k} is read by some service`).toContain(k);
    expect([...used].filter((k) => k in configMap.data).length).toBe(Object.keys(configMap.data).length);
  });

  it('the encryption key reaches every service that needs it, from the Secret only', () => {
    for (const d of deployments) {
      const svc = serviceOf(container(d));
      const env = container(d).env ?? [];
      const needs = schemaEnvKeys(svc).has('SUBSCRIPTION_ENCRYPTION_KEYS');
      const key = env.find((e: { name: string }) => e.name === 'SUBSCRIPTION_ENCRYPTION_KEYS');
      expect(Boolean(key), `${d.file}: encryption key provided`).toBe(needs);
      if (key) expect(key.valueFrom?.secretKeyRef?.name).toBe(secret.metadata.name);
      // Tokens only where they are read: the API.
      expect(env.some((e: { name: string }) => e.name === 'API_TOKENS')).toBe(svc === 'api');
    }
    expect(Object.keys(configMap.data).some((k) => /KEY|TOKEN|PASSWORD|SECRET/.test(k))).toBe(false);
  });

  it('each entry point accepts exactly the configuration its manifest gives it', async () => {
    const secrets = {
      SUBSCRIPTION_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      API_TOKENS: JSON.stringify([
        { name: 'ops', sha256: randomBytes(32).toString('hex'), domains: ['*'], access: 'read-write' },
      ]),
    };
    const broker = await deadPort();
    const runs = [...deployments, ...ofKind('Job')].map(async (w) => {
      const env = podEnv(w, secrets);
      // A dead broker: past config validation the service exits 1 naming the broker; a config error exits 2.
      const result = await run(serviceOf(container(w)), {
        ...env,
        KAFKA_BROKERS: `127.0.0.1:${broker}`,
        KAFKA_CONNECT_TIMEOUT_MS: '1000',
        API_DATA_DIR: join(ROOT, '.data/ops-test-api'),
      });
      return { file: w.file, ...result };
    });
    for (const r of await Promise.all(runs)) {
      expect(r.output, r.file).not.toMatch(/invalid configuration/);
      expect(r.output, r.file).toMatch(/cannot reach Kafka/);
      expect(r.code, `${r.file}: ${r.output.slice(-500)}`).toBe(1);
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  it('copies every workspace manifest before npm ci, so the workspace links exist in the image', () => {
    for (const dir of ['libs', 'services'])
      for (const name of readdirSync(join(ROOT, dir)))
        if (existsSync(join(ROOT, dir, name, 'package.json')))
          expect(dockerfile).toContain(`COPY ${dir}/${name}/package.json ${dir}/${name}/`);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/CMD .*exec node \\"\$@\\" services\/\$\{SERVICE\}\/src\/main\.ts/);
  });

  it('runs every service with the node flags the local runs use (SERVICE_NODE_ARGS)', () => {
    const options = /NODE_OPTIONS="([^"]*)"/.exec(dockerfile)?.[1]?.split(' ') ?? [];
    expect(SERVICE_NODE_ARGS.length).toBeGreaterThan(0);
    for (const flag of SERVICE_NODE_ARGS) expect(options).toContain(flag);
  });

  it('gives a service its own node flags on the command line, after NODE_OPTIONS (SERVICE_NODE_ARGS_OF)', () => {
    expect(Object.keys(SERVICE_NODE_ARGS_OF).length).toBeGreaterThan(0);
    const cmd = /^CMD (.*)$/m.exec(dockerfile)?.[1] ?? '';
    for (const [service, flags] of Object.entries(SERVICE_NODE_ARGS_OF))
      expect(cmd).toContain(`${service}) set -- ${flags.join(' ')} ;;`);
    // Any other service gets none: the default branch empties the arguments.
    expect(cmd).toContain('*) set -- ;;');
  });

  it('sets the environment the local runs use (SERVICE_ENV)', () => {
    expect(Object.keys(SERVICE_ENV).length).toBeGreaterThan(0);
    for (const [key, value] of Object.entries(SERVICE_ENV))
      expect(dockerfile).toMatch(new RegExp(`^\\s+${key}=${value}\\b`, 'm'));
  });
});

async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Runs an entry point with only the given env (nothing inherited that could hide a missing key). */
function run(service: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [`services/${service}/src/main.ts`], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return new Promise<{ code: number | null; output: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, output })),
  );
}
