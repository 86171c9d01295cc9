// hookpost console: a hash-routed page over the /v1 API. The token lives in sessionStorage only (never in a
// URL, never logged) and every request carries it as a bearer header; the server decides what it may see.
const KEY = 'hookpost.token';
const main = document.getElementById('main');
const nav = document.getElementById('nav');

const esc = (v) =>
  String(v ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${sessionStorage.getItem(KEY)}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.status === 401) {
    sessionStorage.removeItem(KEY);
    throw Object.assign(new Error('Your token was not accepted (401). Sign in again.'), { status: 401 });
  }
  if (!response.ok)
    throw Object.assign(new Error(data?.message ?? `HTTP ${response.status}`), {
      status: response.status,
      data,
    });
  return data;
}

function render(html) {
  main.innerHTML = html;
  main.focus();
}

function signIn(message) {
  nav.hidden = true;
  render(`<h1>Sign in</h1>${message ? `<p class="error" role="alert">${esc(message)}</p>` : ''}
    <form id="signin"><label for="token">API token</label>
    <input id="token" type="password" autocomplete="off" required size="40">
    <button type="submit">Sign in</button></form>
    <p>The token stays in this tab (sessionStorage) and is sent only as an Authorization header.</p>`);
  document.getElementById('signin').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY, document.getElementById('token').value.trim());
    // Check the token at once (a missing webhook answers 404 to a good token, 401 to a bad one).
    api('GET', '/v1/webhooks/-')
      .catch((error) => {
        if (error.status === 401) throw error;
      })
      .then(() => {
        location.hash = '#/';
        route();
      })
      .catch((error) => signIn(error.message));
  });
}

function failure(error) {
  if (error.status === 401) return signIn(error.message);
  const title =
    error.status === 403 ? 'Not allowed (403)' : error.status === 404 ? 'Not found (404)' : 'Error';
  render(
    `<h1>${title}</h1><p class="error" role="alert">${esc(error.message)}</p><p><a href="#/">Back to webhooks</a></p>`,
  );
}

async function listPage(params) {
  const domain = params.get('domain_id') ?? '';
  let rows = '';
  if (domain) {
    const { data } = await api('GET', `/v1/webhooks?domain_id=${encodeURIComponent(domain)}&limit=100`);
    rows = data
      .map(
        (
          w,
        ) => `<tr><td><a href="#/webhooks/${encodeURIComponent(w.id)}">${esc(w.name)}</a></td><td>${esc(w.url)}</td>
        <td>${esc(w.events.join(', '))}</td><td>${esc(w.format ?? 'json')}</td>
        <td>${w.enabled ? 'active' : '<span class="status-suspended">disabled</span>'}</td></tr>`,
      )
      .join('');
  }
  render(`<h1>Webhooks</h1><form id="pick"><label for="domain">Domain id</label>
    <input id="domain" name="domain_id" value="${esc(domain)}" required><button type="submit">Show</button></form>
    ${domain ? `<table><caption>Webhooks of ${esc(domain)}</caption><thead><tr><th scope="col">Name</th><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Format</th><th scope="col">Status</th></tr></thead><tbody>${rows || '<tr><td colspan="5">No webhooks.</td></tr>'}</tbody></table>` : ''}`);
  if (domain) {
    main.insertAdjacentHTML(
      'beforeend',
      `<h2>New webhook</h2><form id="create">
      <label for="c-name">Name</label><input id="c-name" required><span class="field-error" id="ce-name"></span>
      <label for="c-url">URL</label><input id="c-url" type="url" size="50" required><span class="field-error" id="ce-url"></span>
      <label for="c-events">Events (comma-separated, e.g. activity.sent, activity.delivered)</label>
      <input id="c-events" size="50" required><span class="field-error" id="ce-events"></span>
      <button type="submit">Create</button></form><div id="created" role="status" aria-live="polite"></div>`,
    );
    document.getElementById('create').addEventListener('submit', (e) => {
      e.preventDefault();
      for (const f of ['name', 'url', 'events']) document.getElementById(`ce-${f}`).textContent = '';
      api('POST', '/v1/webhooks', {
        domain_id: domain,
        name: document.getElementById('c-name').value,
        url: document.getElementById('c-url').value,
        events: document
          .getElementById('c-events')
          .value.split(',')
          .map((v) => v.trim())
          .filter(Boolean),
      })
        .then(({ data }) => {
          location.hash = `#/webhooks/${encodeURIComponent(data.id)}`;
        })
        .catch((err) => {
          for (const [field, messages] of Object.entries(err.data?.errors ?? {})) {
            const slot = document.getElementById(`ce-${field.split('.')[0]}`);
            if (slot) slot.textContent = [].concat(messages).join(' ');
          }
          document.getElementById('created').textContent = err.message;
        });
    });
  }
  document.getElementById('pick').addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/?domain_id=${encodeURIComponent(document.getElementById('domain').value.trim())}`;
  });
}

async function detailPage(id) {
  const { data: w } = await api('GET', `/v1/webhooks/${encodeURIComponent(id)}`);
  const { data: attempts } = await api('GET', `/v1/webhooks/${encodeURIComponent(id)}/attempts?limit=25`);
  render(`<p><a href="#/?domain_id=${encodeURIComponent(w.domain_id)}">← Webhooks of ${esc(w.domain_id)}</a></p>
    <h1>${esc(w.name)}</h1>
    <form id="edit"><label for="f-name">Name</label><input id="f-name" value="${esc(w.name)}"><span class="field-error" id="e-name"></span>
    <label for="f-url">URL</label><input id="f-url" type="url" size="50" value="${esc(w.url)}"><span class="field-error" id="e-url"></span>
    <label for="f-enabled"><input id="f-enabled" type="checkbox" ${w.enabled ? 'checked' : ''}> Enabled</label>
    <button type="submit">Save</button></form>
    <h2>Actions</h2>
    <button type="button" id="test">Send a test</button>
    <button type="button" id="rotate">Rotate signing secret</button>
    <button type="button" id="resume">Resume</button>
    <button type="button" id="delete">Delete…</button>
    <div id="out" role="status" aria-live="polite"></div>
    <h2>Delivery attempts (7 days)</h2>
    <table><thead><tr><th scope="col">When</th><th scope="col">Batch</th><th scope="col">Tier / attempt</th><th scope="col">Status</th><th scope="col">Latency</th><th scope="col">Error / response</th></tr></thead><tbody>
    ${attempts.map((a) => `<tr><td>${esc(a.created_at)}</td><td>${esc(a.batch_id)}</td><td>${esc(a.tier)} / ${esc(a.attempt)}</td><td>${esc(a.status)} (${esc(a.outcome)})</td><td>${esc(a.latency_ms)} ms</td><td>${esc(a.error ?? '')} ${esc(a.response_excerpt ?? '')}</td></tr>`).join('') || '<tr><td colspan="6">No attempts yet.</td></tr>'}
    </tbody></table>`);
  const out = document.getElementById('out');
  const show = (title, value) => {
    out.innerHTML = `<h3>${esc(title)}</h3><pre>${esc(JSON.stringify(value, null, 2))}</pre>`;
  };
  const act = (button, fn) =>
    document
      .getElementById(button)
      .addEventListener('click', () => fn().catch((e) => show('Failed', e.data ?? e.message)));
  document.getElementById('edit').addEventListener('submit', (e) => {
    e.preventDefault();
    for (const f of ['name', 'url']) document.getElementById(`e-${f}`).textContent = '';
    api('PUT', `/v1/webhooks/${encodeURIComponent(id)}`, {
      name: document.getElementById('f-name').value,
      url: document.getElementById('f-url').value,
      enabled: document.getElementById('f-enabled').checked,
    })
      .then(() => show('Saved', {}))
      .catch((err) => {
        for (const [field, messages] of Object.entries(err.data?.errors ?? {})) {
          const slot = document.getElementById(`e-${field}`);
          if (slot) slot.textContent = [].concat(messages).join(' ');
        }
        show('Not saved', err.data ?? err.message);
      });
  });
  act('test', async () =>
    show('Test result', await api('POST', `/v1/webhooks/${encodeURIComponent(id)}/test`, {})),
  );
  act('rotate', async () =>
    show('Secret rotated', await api('POST', `/v1/webhooks/${encodeURIComponent(id)}/secret/rotate`)),
  );
  act('resume', async () =>
    show('Resumed', await api('POST', `/v1/webhooks/${encodeURIComponent(id)}/resume`)),
  );
  act('delete', async () => {
    if (!confirm(`Delete webhook ${w.name}?`)) return;
    await api('DELETE', `/v1/webhooks/${encodeURIComponent(id)}`);
    location.hash = `#/?domain_id=${encodeURIComponent(w.domain_id)}`;
  });
}

async function route() {
  if (!sessionStorage.getItem(KEY)) return signIn();
  nav.hidden = false;
  const [path, query] = location.hash.slice(1).split('?');
  const params = new URLSearchParams(query ?? '');
  const detail = /^\/webhooks\/([^/]+)$/.exec(path ?? '');
  try {
    if (detail) await detailPage(decodeURIComponent(detail[1]));
    else await listPage(params);
  } catch (error) {
    failure(error);
  }
}

document.getElementById('signout').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  signIn();
});
window.addEventListener('hashchange', route);
route();
