// One webhook: status (resume when suspended), edit with the API's messages beside each field, the
// signing secret behind an explicit click with the rotation grace period, a test send, delete with an
// inline confirmation.
import { filterFieldHtml, readFilter, showFilterErrors } from './filter-field.js';
import { $, api, crumbs, enc, esc, eventList, fieldErrors, ms, render, statusText, when } from './lib.js';

/** The rate limit to send: null when empty; otherwise the number as typed (the API names a mistake). */
function rateLimit(text) {
  const t = text.trim();
  return t === '' ? null : { per_second: Number(t) };
}

/** The circuit breaker line: closed, or open/half-open with the failures and the next probe. */
function circuitHtml(c) {
  if (!c || c.state === 'closed')
    return `Circuit: closed${c?.failures ? ` <span class="muted">(${c.failures} failed in a row)</span>` : ''}`;
  const probe = c.probe_at ? ` <span class="muted">next probe ${when(c.probe_at)}</span>` : '';
  const label =
    c.state === 'open' ? 'open: no requests until the probe' : 'half-open: the next attempt is the probe';
  return `Circuit: <span class="status-suspended">${label}</span> <span class="muted">after ${c.failures} failed attempts in a row, as of ${when(c.as_of)}</span>${probe}`;
}

function secretsHtml(w) {
  const [newest, ...older] = w.secrets;
  const grace = older
    .map((s) => {
      const hours = newest ? (Date.parse(s.expires_at) - Date.parse(newest.created_at)) / 3_600_000 : null;
      return `<li>The previous secret <code>${esc(s.secret)}</code> keeps signing beside it until ${when(s.expires_at)}${hours === null ? '' : ` (grace period ${esc(Math.round(hours * 10) / 10)} h)`}.</li>`;
    })
    .join('');
  return `<p>Current secret: <code id="secret-value">${esc(newest?.secret ?? 'none')}</code> <span class="muted">created ${when(newest?.created_at)}</span></p>
    ${grace ? `<ul>${grace}</ul>` : '<p>No rotation in progress: only this secret signs.</p>'}`;
}

export async function detailPage(id) {
  const { data: w } = await api('GET', `/v1/webhooks/${enc(id)}`);
  const base = `#/webhooks/${enc(id)}`;
  render(`${crumbs(w)}
    <h1>${esc(w.name)}</h1>
    <p id="status">Status: ${statusText(w)}
    ${w.status === 'suspended' ? ' <button type="button" id="resume">Resume webhook</button>' : ''}</p>
    <p id="circuit">${circuitHtml(w.circuit)}</p>
    <p><a href="${base}/attempts">Delivery attempts</a> · <a href="${base}/dead-letters">Dead letters</a></p>
    <h2>Settings</h2>
    <form id="edit" novalidate><label for="f-name">Name</label><input id="f-name" value="${esc(w.name)}"><span class="field-error" id="e-name"></span>
    <label for="f-url">URL</label><input id="f-url" type="url" size="50" value="${esc(w.url)}"><span class="field-error" id="e-url"></span>
    <label for="f-events">Events (comma-separated)</label><input id="f-events" size="50" value="${esc(w.events.join(', '))}"><span class="field-error" id="e-events"></span>
    ${filterFieldHtml(w)}
    <label for="f-rate_limit">Rate limit (requests per second, 0.1 to 1000; empty: none)</label><input id="f-rate_limit" type="number" min="0.1" max="1000" step="any" inputmode="decimal" value="${w.rate_limit ? esc(String(w.rate_limit.per_second)) : ''}" aria-describedby="e-rate_limit"><span class="field-error" id="e-rate_limit"></span>
    <label for="f-enabled" class="inline"><input id="f-enabled" type="checkbox" ${w.enabled ? 'checked' : ''}> Enabled</label>
    <button type="submit">Save</button> <span id="saved" role="status" aria-live="polite"></span></form>
    <h2>Signing secret</h2>
    <p>Receivers verify the <code>webhook-signature</code> header with it. Rotating keeps the old secret signing for a grace period.</p>
    <button type="button" id="reveal" aria-expanded="false" aria-controls="secret">Reveal signing secret</button>
    <button type="button" id="rotate">Rotate signing secret</button>
    <div id="secret" hidden></div>
    <h2>Test</h2>
    <p>Sends a signed sample event straight to the URL and shows what the receiver answered.</p>
    <button type="button" id="test">Send a test</button>
    <div id="test-result" role="status" aria-live="polite"></div>
    <h2>Delete</h2>
    <button type="button" id="delete">Delete…</button>
    <div id="confirm" hidden><p>Delete <strong>${esc(w.name)}</strong>? Its events stop being delivered.</p>
    <button type="button" id="delete-yes" class="danger">Yes, delete ${esc(w.name)}</button><button type="button" id="delete-no">Cancel</button></div>
    <div id="out" role="status" aria-live="polite"></div>`);
  const out = $('out');
  const fail = (e) => {
    out.innerHTML = `<p class="error" role="alert">${esc(e.message)}</p>`;
  };
  let current = w;
  const showSecret = () => {
    $('secret').innerHTML = secretsHtml(current);
  };
  $('reveal').addEventListener('click', () => {
    const open = $('secret').hidden;
    if (open) showSecret();
    else $('secret').innerHTML = '';
    $('secret').hidden = !open;
    $('reveal').setAttribute('aria-expanded', String(open));
    $('reveal').textContent = open ? 'Hide signing secret' : 'Reveal signing secret';
  });
  $('rotate').addEventListener('click', () =>
    api('POST', `/v1/webhooks/${enc(id)}/secret/rotate`)
      .then(({ data }) => {
        current = data;
        showSecret();
        $('secret').hidden = false;
        $('reveal').setAttribute('aria-expanded', 'true');
        $('reveal').textContent = 'Hide signing secret';
        out.innerHTML = '<p>Secret rotated.</p>';
      })
      .catch(fail),
  );
  $('resume')?.addEventListener('click', () =>
    api('POST', `/v1/webhooks/${enc(id)}/resume`)
      .then(({ data }) => {
        $('status').innerHTML = `Status: ${statusText(data)}`;
        out.innerHTML = '<p>Resumed: deliveries start again.</p>';
      })
      .catch(fail),
  );
  $('edit').addEventListener('submit', (e) => {
    e.preventDefault();
    for (const f of ['name', 'url', 'events', 'rate_limit']) $(`e-${f}`).textContent = '';
    $('saved').textContent = '';
    const filter = readFilter();
    if (!filter.ok) {
      $('saved').textContent = 'Not saved: the filter is not JSON.';
      return;
    }
    api('PUT', `/v1/webhooks/${enc(id)}`, {
      name: $('f-name').value,
      url: $('f-url').value,
      events: eventList($('f-events').value),
      enabled: $('f-enabled').checked,
      filter: filter.value,
      rate_limit: rateLimit($('f-rate_limit').value),
    })
      .then(({ data }) => {
        current = data;
        $('status').innerHTML = `Status: ${statusText(data)}`;
        $('saved').textContent = 'Saved.';
      })
      .catch((err) => {
        fieldErrors('e-', err);
        showFilterErrors(err);
        $('saved').textContent = `Not saved: ${err.message}`;
      });
  });
  $('test').addEventListener('click', () => {
    $('test-result').textContent = 'Sending…';
    api('POST', `/v1/webhooks/${enc(id)}/test`, {})
      .then(({ data: t }) => {
        $('test-result').innerHTML = `<h3>Test result</h3><dl>
          <dt>Delivered</dt><dd id="test-delivered">${t.delivered ? 'yes' : 'no'}</dd>
          <dt>Status</dt><dd id="test-status">${esc(t.status ?? '—')}</dd>
          <dt>Latency</dt><dd>${ms(t.latency_ms)}</dd>
          ${t.error ? `<dt>Error</dt><dd>${esc(t.error)}</dd>` : ''}
          <dt>Response excerpt</dt><dd><pre>${esc(t.response_excerpt ?? '')}</pre></dd></dl>`;
      })
      .catch((e) => {
        $('test-result').innerHTML = `<p class="error" role="alert">${esc(e.message)}</p>`;
      });
  });
  $('delete').addEventListener('click', () => {
    $('confirm').hidden = false;
    $('delete-yes').focus();
  });
  $('delete-no').addEventListener('click', () => {
    $('confirm').hidden = true;
    $('delete').focus();
  });
  $('delete-yes').addEventListener('click', () =>
    api('DELETE', `/v1/webhooks/${enc(id)}`)
      .then(() => {
        location.hash = `#/?domain_id=${enc(w.domain_id)}`;
      })
      .catch(fail),
  );
}
