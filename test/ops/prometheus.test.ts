/**
 * deploy/prometheus: promtool checks the config and the rules and runs the rule unit tests
 * (alerts.test.yml); every alert has a firing test case and a runbook section; the scrape config
 * covers every role's port and agrees with the Kubernetes annotations. Installs promtool (Debian's
 * prometheus package) on first use through scripts/promtool.sh.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadManifests, ROOT } from './manifests.ts';
import { alertRules, metricNames, registeredSeries } from './metric-refs.ts';

const prom = (f: string) => join(ROOT, 'deploy/prometheus', f);

const RUNBOOK_BASE = 'https://github.com/hookpost/hookpost/blob/main';

/** Heading anchors as GitHub renders Markdown: lowercase, punctuation dropped, spaces to dashes, -1 for repeats. */
function githubAnchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const slug = m[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

describe('deploy/prometheus', () => {
  it('promtool: config and rules check, rule unit tests pass', () => {
    const r = spawnSync('bash', ['scripts/promtool.sh', 'verify'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 110_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/alerts\.test\.yml\s+SUCCESS/);
  }, 120_000);

  it('every alert has a test that fires it, a severity and a runbook section', () => {
    const tests = parse(readFileSync(prom('alerts.test.yml'), 'utf8')) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const fired = new Set(
      tests.tests.flatMap((t) =>
        (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname),
      ),
    );
    const runbook = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');
    const rules = alertRules();
    expect(rules.length).toBeGreaterThanOrEqual(5);
    for (const r of rules) {
      expect(fired, `${r.alert} is fired by alerts.test.yml`).toContain(r.alert);
      expect(['critical', 'warning', 'info']).toContain(r.labels?.severity);
      expect(runbook, `docs/operations.md has a section for ${r.alert}`).toContain(`\n### ${r.alert}\n`);
      expect(r.annotations?.runbook_url).toBe(
        `{{ with $externalLabels.runbook_base }}{{ . }}{{ else }}${RUNBOOK_BASE}{{ end }}/docs/operations.md#${r.alert.toLowerCase()}`,
      );
    }
  });

  it('every runbook link is absolute and its anchor is a heading of docs/operations.md', () => {
    const anchors = githubAnchors(readFileSync(join(ROOT, 'docs/operations.md'), 'utf8'));
    expect(anchors.size).toBeGreaterThan(5);
    // Rendered as promtool renders it without external labels (alerts.test.yml expects the same URLs).
    const render = (t: string) =>
      t.replace(
        /\{\{ with \$externalLabels\.runbook_base \}\}\{\{ \. \}\}\{\{ else \}\}(.*?)\{\{ end \}\}/,
        '$1',
      );
    for (const r of alertRules()) {
      const url = new URL(render(r.annotations?.runbook_url ?? ''));
      expect(url.protocol, r.alert).toBe('https:');
      expect(url.pathname.endsWith('/docs/operations.md'), `${r.alert}: ${url}`).toBe(true);
      expect(anchors, `${r.alert}: #${url.hash.slice(1)} is a heading of docs/operations.md`).toContain(
        url.hash.slice(1),
      );
    }
    expect(anchors.has('no-such-section')).toBe(false);
  });

  it('alert queries use only metric names the code registers', () => {
    const known = registeredSeries();
    for (const r of alertRules())
      for (const m of metricNames(r.expr)) expect(known, `${r.alert}: ${m}`).toContain(m);
  });

  it('the local scrape config covers every role on the ports npm start uses', () => {
    const config = parse(readFileSync(prom('prometheus.yml'), 'utf8'));
    expect(config.rule_files).toContain('alerts.yml');
    const targets = config.scrape_configs.flatMap(
      (j: { static_configs?: { targets: string[]; labels: { role: string } }[] }) =>
        (j.static_configs ?? []).map((s) => [s.labels.role, Number(s.targets[0]!.split(':').at(-1))]),
    );
    expect(Object.fromEntries(targets)).toEqual({
      demo: 9470,
      batcher: 9472,
      delivery: 9473,
      'delivery-retry': 9474,
      api: 9475,
    });
  });

  it('the Kubernetes scrape config keeps exactly the annotated pods and scrapes their ops port', () => {
    const config = parse(readFileSync(prom('prometheus-k8s.yml'), 'utf8'));
    const relabel: {
      source_labels?: string[];
      regex?: string;
      replacement?: string;
      target_label?: string;
      action?: string;
    }[] = config.scrape_configs[0].relabel_configs;
    const keep = relabel.find((r) => r.action === 'keep')!;
    expect(keep.source_labels).toEqual(['__meta_kubernetes_pod_annotation_prometheus_io_scrape']);
    const address = relabel.find((r) => r.target_label === '__address__')!;
    // Prometheus anchors relabel regexes; RE2 and JS agree on this one.
    const re = new RegExp(`^(?:${address.regex})$`);
    for (const { doc } of loadManifests().filter((m) => m.doc.kind === 'Deployment')) {
      const a = doc.spec.template.metadata.annotations;
      expect(a['prometheus.io/scrape']).toBe(keep.regex);
      const rewritten = `10.1.2.3:8080;${a['prometheus.io/port']}`.replace(re, address.replacement!);
      expect(rewritten).toBe(`10.1.2.3:${a['prometheus.io/port']}`);
    }
    const role = relabel.find((r) => r.target_label === 'role')!;
    expect(role.source_labels).toEqual(['__meta_kubernetes_pod_label_app_kubernetes_io_component']);
  });
});
