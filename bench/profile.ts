/**
 * Summarises a V8 .cpuprofile (node --cpu-prof, e.g. `npm run bench -- --cpu-prof fanout`): self time
 * per function (name, file:line), the top entries, and self time per package, so the hot path of a
 * service can be named without a flame-graph viewer.
 *
 *   bash scripts/hp node bench/profile.ts bench/out/prof/CPU.<...>.cpuprofile [top=25]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: bash scripts/hp node bench/profile.ts <file.cpuprofile> [top]');
const top = Number(process.argv[3] ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

// Self time per node from the sample deltas (µs), which is exact where hitCount × interval is not.
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const where = (url: string) => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(url);
  if (m) return { pkg: m[1]!, path: `${m[1]}/${m[2]}` };
  const rel = url.replace(/^file:\/\/.*?\/work\/main\//, '');
  return {
    pkg: rel.startsWith('node:') || rel === '' ? '(node)' : rel.split('/').slice(0, 2).join('/'),
    path: rel,
  };
};

const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  if (us === 0) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const w = where(url);
  const key = `${functionName || '(anonymous)'}  ${w.path || '(native)'}${url ? `:${lineNumber + 1}` : ''}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  byPackage.set(w.pkg || '(native)', (byPackage.get(w.pkg || '(native)') ?? 0) + us);
}

const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled`);
console.log('\nself time by function');
for (const [k, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`${pct(us)}  ${(us / 1e6).toFixed(2).padStart(7)} s  ${k}`);
console.log('\nself time by package');
for (const [k, us] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 15))
  console.log(`${pct(us)}  ${(us / 1e6).toFixed(2).padStart(7)} s  ${k}`);

// `--callers <function>`: the call paths (innermost first, 6 deep) that account for its self time.
const callersOf = process.argv.indexOf('--callers');
if (callersOf > 0) {
  const target = process.argv[callersOf + 1];
  const parent = new Map<number, Node>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const n of profile.nodes)
    for (const c of (n as Node & { children?: number[] }).children ?? []) parent.set(c, n);
  const paths = new Map<string, number>();
  for (const n of profile.nodes) {
    if (n.callFrame.functionName !== target) continue;
    const chain: string[] = [];
    for (let p = parent.get(n.id); p && chain.length < 6; p = parent.get(p.id))
      chain.push(
        `${p.callFrame.functionName || '(anon)'}@${where(p.callFrame.url).path.split('/').at(-1)}:${p.callFrame.lineNumber + 1}`,
      );
    const key = chain.join(' < ');
    paths.set(key, (paths.get(key) ?? 0) + (selfUs.get(n.id) ?? 0));
  }
  void byId;
  console.log(`\ncallers of ${target}`);
  for (const [k, us] of [...paths].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`${pct(us)}  ${k}`);
}
