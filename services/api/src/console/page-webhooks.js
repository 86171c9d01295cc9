// The webhooks of a domain: status (suspended with reason and time), last delivery, 24 h success and
// p95 latency (GET /v1/webhooks/{id}/stats per row), and the create form with the API's field messages.
import { $, api, enc, esc, eventList, fieldErrors, ms, pct, render, statusText, table, when } from './lib.js';

function lastResult(a) {
  if (!a) return 'none yet';
  const what = a.status === null ? esc(a.error ?? 'no answer') : `HTTP ${esc(a.status)}`;
  return `${a.outcome === 'delivered' ? '✓' : '✗'} ${what} <span class="muted">${when(a.created_at)}</span>`;
}

export async function listPage(params) {
  const domain = params.get('domain_id') ?? '';
  let list = '';
  if (domain) {
    const { data } = await api('GET', `/v1/webhooks?domain_id=${enc(domain)}&limit=100`);
    const stats = await Promise.all(
      data.map((w) => api('GET', `/v1/webhooks/${enc(w.id)}/stats`).then((r) => r.data)),
    );
    list = table(
      `Webhooks of ${domain}`,
      ['Name', 'URL', 'Events', 'Format', 'Status', 'Last delivery', 'Success (24 h)', 'p95 (24 h)'],
      data.map((w, i) => [
        `<a href="#/webhooks/${enc(w.id)}">${esc(w.name)}</a>`,
        `<span class="url">${esc(w.url)}</span>`,
        esc(w.events.join(', ')),
        esc(w.format ?? 'json'),
        statusText(w),
        lastResult(stats[i].last_attempt),
        `${pct(stats[i].success_rate)} <span class="muted">of ${esc(stats[i].attempts)}</span>`,
        ms(stats[i].p95_latency_ms),
      ]),
      'No webhooks.',
    );
  }
  render(`<h1>Webhooks</h1><form id="pick"><label for="domain">Domain id</label>
    <input id="domain" name="domain_id" value="${esc(domain)}" required><button type="submit">Show</button></form>
    ${list}${domain ? createForm() : ''}`);
  $('pick').addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/?domain_id=${enc($('domain').value.trim())}`;
  });
  if (domain) wireCreate(domain);
}

function createForm() {
  return `<h2>New webhook</h2><form id="create" novalidate>
    <label for="c-name">Name</label><input id="c-name" required><span class="field-error" id="ce-name"></span>
    <label for="c-url">URL</label><input id="c-url" type="url" size="50" required><span class="field-error" id="ce-url"></span>
    <label for="c-events">Events (comma-separated, e.g. activity.sent, activity.delivered)</label>
    <input id="c-events" size="50" required><span class="field-error" id="ce-events"></span>
    <label for="c-window">Batch window in seconds (optional; default 30)</label>
    <input id="c-window" inputmode="numeric" size="6"><span class="field-error" id="ce-batch"></span>
    <button type="submit">Create</button></form><div id="created" role="status" aria-live="polite"></div>`;
}

function wireCreate(domain) {
  $('create').addEventListener('submit', (e) => {
    e.preventDefault();
    for (const f of ['name', 'url', 'events', 'batch']) $(`ce-${f}`).textContent = '';
    $('created').textContent = '';
    const windowSeconds = $('c-window').value.trim();
    api('POST', '/v1/webhooks', {
      ...(windowSeconds ? { batch: { window_seconds: Number(windowSeconds) } } : {}),
      domain_id: domain,
      name: $('c-name').value,
      url: $('c-url').value,
      events: eventList($('c-events').value),
    })
      .then(({ data }) => {
        location.hash = `#/webhooks/${enc(data.id)}`;
      })
      .catch((err) => {
        fieldErrors('ce-', err);
        $('created').textContent = err.message;
      });
  });
}
