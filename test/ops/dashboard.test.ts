import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DASHBOARD } from './metric-refs.ts';

/** Every `datasource` value anywhere in the dashboard, with its JSON path. */
function datasources(node: unknown, path = '$', out: [string, unknown][] = []): [string, unknown][] {
  if (Array.isArray(node)) {
    for (const [i, x] of node.entries()) datasources(x, `${path}[${i}]`, out);
  } else if (node && typeof node === 'object')
    for (const [k, v] of Object.entries(node)) {
      if (k === 'datasource') out.push([`${path}.${k}`, v]);
      else datasources(v, `${path}.${k}`, out);
    }
  return out;
}

/** Grafana's variable syntax, not a JS template. */
const VARIABLE = ['$', '{datasource}'].join('');

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    templating: { list: { name: string; type: string; query: string }[] };
    panels: unknown[];
  };

  it('picks its Prometheus through a datasource variable, so it imports into any Grafana', () => {
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    const refs = datasources(dashboard.panels);
    expect(refs.length).toBeGreaterThan(10);
    for (const [path, ref] of refs) expect(ref, path).toEqual({ type: 'prometheus', uid: VARIABLE });
  });
});
