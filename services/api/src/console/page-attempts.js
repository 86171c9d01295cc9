// Delivery attempts of the last 7 days: filters (status class, time range in UTC) and paging kept in
// the URL, and an attempt's detail (batch id = webhook-id header, tier, attempt, status, latency,
// error, response excerpt) opened from its row.
import { $, api, crumbs, enc, esc, fromLocalInput, ms, render, table, toLocalInput, when } from './lib.js';

const CLASSES = ['2xx', '3xx', '4xx', '5xx', 'error'];

function detailHtml(a) {
  return `<section id="attempt-detail" aria-labelledby="attempt-title" class="panel">
    <h2 id="attempt-title">Attempt ${esc(a.attempt)} of batch <code>${esc(a.batch_id)}</code></h2><dl>
    <dt>Batch id (webhook-id header)</dt><dd><code>${esc(a.batch_id)}</code></dd>
    <dt>Tier</dt><dd>${esc(a.tier)}</dd><dt>Attempt number</dt><dd>${esc(a.attempt)}</dd>
    <dt>When</dt><dd>${when(a.created_at)}</dd>
    <dt>Status</dt><dd>${esc(a.status ?? 'no HTTP answer')} (${esc(a.status_class)}, ${esc(a.outcome)})</dd>
    <dt>Latency</dt><dd>${ms(a.latency_ms)}</dd><dt>Events in the batch</dt><dd>${esc(a.event_count)}</dd>
    <dt>Error</dt><dd>${esc(a.error ?? '—')}</dd>
    <dt>Response excerpt</dt><dd><pre>${esc(a.response_excerpt ?? '')}</pre></dd></dl></section>`;
}

export async function attemptsPage(id, params) {
  const { data: w } = await api('GET', `/v1/webhooks/${enc(id)}`);
  const q = new URLSearchParams();
  for (const k of ['status', 'date_from', 'date_to', 'page']) if (params.get(k)) q.set(k, params.get(k));
  q.set('limit', '20');
  const res = await api('GET', `/v1/webhooks/${enc(id)}/attempts?${q}`);
  const here = (over) => {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(over)) v === null ? p.delete(k) : p.set(k, String(v));
    return `#/webhooks/${enc(id)}/attempts?${p}`;
  };
  const shown = res.data.find((a) => a.id === params.get('show'));
  const m = res.meta;
  const status = params.get('status') ?? '';
  render(`${crumbs(w, 'Delivery attempts')}<h1>Delivery attempts of ${esc(w.name)}</h1>
    <form id="filters" class="filters"><div><label for="a-status">Status class</label><select id="a-status">
    <option value="">all</option>${CLASSES.map((c) => `<option ${c === status ? 'selected' : ''}>${c}</option>`).join('')}</select></div>
    <div><label for="a-from">From (UTC)</label><input id="a-from" type="datetime-local" step="1" value="${params.get('date_from') ? toLocalInput(Number(params.get('date_from'))) : ''}"></div>
    <div><label for="a-to">To (UTC)</label><input id="a-to" type="datetime-local" step="1" value="${params.get('date_to') ? toLocalInput(Number(params.get('date_to'))) : ''}"></div>
    <div><button type="submit">Apply filters</button> <a href="#/webhooks/${enc(id)}/attempts">Clear</a></div></form>
    ${shown ? detailHtml(shown) : ''}
    ${table(
      `${m.total} attempt${m.total === 1 ? '' : 's'}${status ? ` answered ${status}` : ''}, page ${m.current_page} of ${m.last_page}`,
      ['When', 'Batch', 'Tier / attempt', 'Status', 'Latency', 'Error / response', 'Detail'],
      res.data.map((a) => [
        when(a.created_at),
        `<code>${esc(a.batch_id)}</code>`,
        `${esc(a.tier)} / ${esc(a.attempt)}`,
        `${esc(a.status ?? '—')} <span class="muted">${esc(a.outcome)}</span>`,
        ms(a.latency_ms),
        esc((a.error ?? a.response_excerpt ?? '').slice(0, 80)),
        `<a href="${here({ show: a.id })}" aria-label="Details of attempt ${esc(a.attempt)} of batch ${esc(a.batch_id)}">Details</a>`,
      ]),
      'No attempts match.',
    )}
    <nav aria-label="Pages" class="pager">
    ${m.current_page > 1 ? `<a href="${here({ page: m.current_page - 1, show: null })}">← Newer</a>` : ''}
    ${m.current_page < m.last_page ? `<a href="${here({ page: m.current_page + 1, show: null })}">Older →</a>` : ''}</nav>`);
  if (shown) $('attempt-detail').scrollIntoView();
  $('filters').addEventListener('submit', (e) => {
    e.preventDefault();
    const p = new URLSearchParams();
    if ($('a-status').value) p.set('status', $('a-status').value);
    const from = fromLocalInput($('a-from').value);
    const to = fromLocalInput($('a-to').value);
    if (from !== undefined) p.set('date_from', String(from));
    if (to !== undefined) p.set('date_to', String(to));
    location.hash = `#/webhooks/${enc(id)}/attempts?${p}`;
  });
}
