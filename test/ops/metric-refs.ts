/**
 * Metric names that PromQL in the repo refers to (alert rules, dashboard panels), and the names the
 * code registers. Histograms are referred to by their series (`_bucket`, `_sum`, `_count`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './manifests.ts';

const ALERTS = join(ROOT, 'deploy/prometheus/alerts.yml');
export const DASHBOARD = join(ROOT, 'deploy/grafana/dashboards/hookpost.json');

/** Every metric name of ours (webhooks_*) or prom-client's defaults (process_*, nodejs_*) in PromQL. */
export function metricNames(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\b((?:webhooks|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!))];
}

export interface AlertRule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function alertRules(): AlertRule[] {
  const doc = parse(readFileSync(ALERTS, 'utf8')) as { groups: { rules: AlertRule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

/** Every panel's query expressions, with the panel title (rows and nested panels included). */
export function dashboardQueries(): { title: string; expr: string }[] {
  const doc = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
  const out: { title: string; expr: string }[] = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ title: p.title, expr: t.expr });
      if (p.panels) walk(p.panels);
    }
  };
  walk(doc.panels);
  return out;
}

interface Panel {
  title: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** The series names a metric registered in the sources exposes (histograms: _bucket/_sum/_count). */
export function registeredSeries(): Set<string> {
  const out = new Set<string>();
  const scan = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory() && e.name !== 'node_modules') scan(path);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
        const text = readFileSync(path, 'utf8');
        for (const m of text.matchAll(/['`](webhooks_[a-z0-9_]+)['`]/g)) {
          const name = m[1]!;
          out.add(name);
          for (const suffix of ['_bucket', '_sum', '_count']) out.add(name + suffix);
        }
      }
    }
  };
  scan(join(ROOT, 'libs'));
  scan(join(ROOT, 'services'));
  return out;
}
