// Shared pieces of the console's pages: the API client (bearer token from sessionStorage, never a
// cookie, never a URL), HTML escaping, tables that stay readable at 390 px, and formatting.
export const KEY = 'hookpost.token';
export const main = document.getElementById('main');

export const esc = (v) =>
  String(v ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
export const enc = encodeURIComponent;

export async function api(method, path, body) {
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

export function render(html) {
  main.innerHTML = html;
  main.focus();
}

export const $ = (id) => document.getElementById(id);

/** A table whose cells carry their column name, shown before each value when the table stacks (390 px). */
export function table(caption, columns, rows, empty) {
  const head = columns.map((c) => `<th scope="col">${esc(c)}</th>`).join('');
  const body = rows.length
    ? rows
        .map(
          (cells) =>
            `<tr>${cells.map((v, i) => `<td data-label="${esc(columns[i])}">${v}</td>`).join('')}</tr>`,
        )
        .join('')
    : `<tr><td colspan="${columns.length}">${esc(empty)}</td></tr>`;
  return `<table><caption>${esc(caption)}</caption><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export const when = (iso) =>
  iso ? esc(new Date(iso).toISOString().replace('T', ' ').slice(0, 19)) + ' UTC' : '—';
export const pct = (rate) => (rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)} %`);
export const ms = (v) => (v === null || v === undefined ? '—' : `${v} ms`);

/** A webhook's status in words: active, disabled, or suspended with the reason and since when. */
export function statusText(w) {
  if (w.status === 'suspended')
    return `<span class="status-suspended">suspended: ${esc(w.status_reason ?? 'unknown')}</span> <span class="muted">since ${w.status_changed_at ? when(w.status_changed_at) : `${when(w.updated_at)} or earlier`}</span>`;
  return w.enabled ? 'active' : '<span class="status-disabled">disabled</span>';
}

/** Field messages from a 422 next to their inputs (`<prefix><field>` slots); true if any was placed. */
export function fieldErrors(prefix, err) {
  let placed = false;
  for (const [field, messages] of Object.entries(err.data?.errors ?? {})) {
    const slot = $(`${prefix}${field.split('.')[0]}`);
    if (slot) {
      slot.textContent = [].concat(messages).join(' ');
      placed = true;
    }
  }
  return placed;
}

/** `datetime-local` value (UTC, seconds) ⇄ unix seconds. */
export const toLocalInput = (sec) => new Date(sec * 1000).toISOString().slice(0, 19);
export const fromLocalInput = (value) => (value ? Math.floor(Date.parse(`${value}Z`) / 1000) : undefined);

export function crumbs(w, here) {
  return `<nav aria-label="Breadcrumb" class="crumbs"><a href="#/?domain_id=${enc(w.domain_id)}">Webhooks of ${esc(w.domain_id)}</a>
    › <a href="#/webhooks/${enc(w.id)}">${esc(w.name)}</a>${here ? ` › ${esc(here)}` : ''}</nav>`;
}

/** The event types typed as a comma-separated list. */
export const eventList = (text) =>
  text
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
