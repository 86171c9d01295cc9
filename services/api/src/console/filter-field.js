// The webhook edit page's content filter: a textarea holding the filter as JSON (empty: no filter),
// and the API's 422 shown beside it with the exact place it names (filter.$and[1].tags.$in).
// docs/filters.md is the guide the hint links to.
import { $, esc } from './lib.js';

export function filterFieldHtml(w) {
  const text = w.filter ? JSON.stringify(w.filter, null, 2) : '';
  return `<label for="f-filter">Content filter (JSON; empty: every event of the chosen types)</label>
    <textarea id="f-filter" rows="6" cols="60" spellcheck="false" aria-describedby="h-filter e-filter">${esc(text)}</textarea>
    <span class="muted" id="h-filter">For example <code>{"data":{"email":{"tags":"invoices"}}}</code>; operators $eq, $neq, $in, $nin, $gt, $gte, $lt, $lte, $contains, $startsWith, $endsWith, $exists, $and, $or, $not (docs/filters.md).</span>
    <span class="field-error" id="e-filter"></span>`;
}

/** The filter to send: `{ ok, value }` (null when empty), or `{ ok: false }` with the message placed. */
export function readFilter() {
  const text = $('f-filter').value.trim();
  $('e-filter').textContent = '';
  if (text === '') return { ok: true, value: null };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    $('e-filter').textContent = `Not JSON: ${e.message}`;
    return { ok: false };
  }
}

/** Every filter message of a 422, each with the place it names. */
export function showFilterErrors(err) {
  const lines = Object.entries(err.data?.errors ?? {})
    .filter(([field]) => field === 'filter' || field.startsWith('filter.') || field.startsWith('filter['))
    .map(([field, messages]) => `${field}: ${[].concat(messages).join(' ')}`);
  if (lines.length > 0) $('e-filter').textContent = lines.join(' ');
}
