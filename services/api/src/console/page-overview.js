// The operators' overview (tokens for every domain only; the API answers 403 to others): lag per
// stage, 24 h delivery success, suspended webhooks, dead-letter growth, and the Grafana dashboard.
import { api, enc, esc, ms, pct, render, table, when } from './lib.js';

export async function overviewPage() {
  const { data: o } = await api('GET', '/v1/overview');
  const dl = o.dead_letters;
  render(`<h1>Overview</h1>
    <p>Every domain, from the API's own data: consumer-group offsets, the delivery history and the dead-letter queue.
    ${o.grafana_url ? `For depth, <a href="${esc(o.grafana_url)}" rel="noreferrer">open the Grafana dashboard</a>.` : ''}</p>
    <ul class="tiles" aria-label="Key figures">
      <li><span class="figure" id="ov-success">${pct(o.delivery.success_rate)}</span> delivery success (24 h, ${esc(o.delivery.attempts)} attempts)</li>
      <li><span class="figure">${ms(o.delivery.p95_latency_ms)}</span> p95 attempt latency (24 h)</li>
      <li><span class="figure" id="ov-suspended">${esc(o.webhooks.suspended)}</span> suspended of ${esc(o.webhooks.total)} webhooks</li>
      <li><span class="figure" id="ov-dlq-hour">+${esc(dl.last_hour)}</span> dead letters in the last hour (${esc(dl.last_24h)} in 24 h, ${esc(dl.total)} held)</li>
    </ul>
    ${table(
      'Lag per stage (records not yet committed)',
      ['Stage', 'Consumer group', 'Reads', 'Lag'],
      o.stages.map((s) => [
        esc(s.stage),
        `<code>${esc(s.group)}</code>`,
        `<code>${esc(s.topic)}</code>`,
        s.lag === null ? `<span class="muted">${esc(s.note ?? '—')}</span>` : esc(s.lag),
      ]),
      'No stages.',
    )}
    ${table(
      'Suspended webhooks',
      ['Webhook', 'Domain', 'Reason', 'Since'],
      o.suspended.map((w) => [
        `<a href="#/webhooks/${enc(w.id)}">${esc(w.name)}</a>`,
        esc(w.domain_id),
        esc(w.reason ?? '—'),
        w.since_recorded ? when(w.since) : `${when(w.since)} or earlier`,
      ]),
      'None: every webhook is active.',
    )}
    ${table(
      'Dead letters held, by reason',
      ['Reason', 'Count'],
      Object.entries(dl.by_reason).map(([r, n]) => [esc(r), esc(n)]),
      'The dead-letter queue is empty.',
    )}`);
}
