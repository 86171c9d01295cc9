// A webhook's dead letters: counts by reason, the newest records, a range (UTC) and reasons to select,
// a dry run that lists what a replay would send, the replay with its true summary, and resume.
import {
  $,
  api,
  crumbs,
  enc,
  esc,
  fieldErrors,
  fromLocalInput,
  render,
  statusText,
  table,
  toLocalInput,
  when,
} from './lib.js';

const REPLAYABLE = ['exhausted', 'suspended', 'gone', 'refused'];
const NEWEST = 20;

function summaryHtml(r) {
  const skipped = Object.entries(r.skipped)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${esc(k.replaceAll('_', ' '))}: ${esc(n)}`)
    .join(', ');
  return `<h3>${r.dry_run ? 'Dry run: nothing was sent' : 'Replay done'}</h3>
    <p id="replay-summary">${[
      `${esc(r.matched)} matched; ${r.dry_run ? 'would replay' : 'replayed'} <strong>${esc(r.replayed)}</strong> (${esc(r.events)} event${r.events === 1 ? '' : 's'})`,
      skipped ? `skipped ${skipped}` : '',
      r.resumed.length ? `${r.dry_run ? 'would resume' : 'resumed'} the webhook first` : '',
    ]
      .filter(Boolean)
      .join('; ')}.</p>
    ${table(
      r.dry_run ? 'What a replay would send' : 'What was sent',
      ['Dead letter', 'Reason', 'Dead at', 'Events', 'Outcome'],
      r.items.map((i) => [
        `<code>${esc(i.dlq_id)}</code>`,
        esc(i.reason),
        when(i.dead_at),
        esc(i.events),
        esc(i.outcome),
      ]),
      'Nothing in the range.',
    )}`;
}

export async function deadLettersPage(id) {
  const [{ data: w }, { data: d }] = await Promise.all([
    api('GET', `/v1/webhooks/${enc(id)}`),
    // The counts by reason cover every dead letter; the list shows the newest few (a suspended webhook
    // dead-letters each event as it comes, hundreds a minute in the demo).
    api('GET', `/v1/webhooks/${enc(id)}/dead-letters?limit=${NEWEST}`),
  ]);
  const oldest = d.by_reason.length ? Math.min(...d.by_reason.map((r) => Date.parse(r.oldest_at))) : null;
  const newest = d.by_reason.length ? Math.max(...d.by_reason.map((r) => Date.parse(r.newest_at))) : null;
  render(`${crumbs(w, 'Dead letters')}<h1>Dead letters of ${esc(w.name)}</h1>
    <p id="dl-status">Status: ${statusText(w)}
    ${w.status === 'suspended' ? ' <button type="button" id="dl-resume">Resume webhook</button>' : ''}</p>
    ${table(
      `${d.total} dead letter${d.total === 1 ? '' : 's'} by reason`,
      ['Reason', 'Count', 'Events', 'Oldest', 'Newest'],
      d.by_reason.map((r) => [
        esc(r.reason),
        esc(r.count),
        esc(r.events),
        when(r.oldest_at),
        when(r.newest_at),
      ]),
      'The dead-letter queue holds nothing for this webhook.',
    )}
    <h2>Replay a range</h2>
    <form id="replay" novalidate class="filters">
    <div><label for="r-from">From (UTC, inclusive)</label><input id="r-from" type="datetime-local" step="1" value="${oldest === null ? '' : toLocalInput(Math.floor(oldest / 1000))}"><span class="field-error" id="re-date_from"></span></div>
    <div><label for="r-to">To (UTC, exclusive)</label><input id="r-to" type="datetime-local" step="1" value="${newest === null ? '' : toLocalInput(Math.floor(newest / 1000) + 1)}"><span class="field-error" id="re-date_to"></span></div>
    <fieldset><legend>Reasons (none ticked: all)</legend>${REPLAYABLE.map(
      (r) =>
        `<label class="inline" for="r-${r}"><input type="checkbox" id="r-${r}" value="${r}"> ${r}</label>`,
    ).join('')}<span class="field-error" id="re-reasons"></span></fieldset>
    <div><label for="r-rate">At most, per second (blank: as fast as the broker takes them)</label><input id="r-rate" type="number" min="1" step="1" inputmode="numeric"><span class="field-error" id="re-rate_per_sec"></span></div>
    <div><label class="inline" for="r-resume"><input type="checkbox" id="r-resume" ${w.status === 'suspended' ? 'checked' : ''}> Resume the webhook first if it is suspended</label></div>
    <div><button type="button" id="dry-run">Dry run</button><button type="button" id="do-replay">Replay</button></div></form>
    <div id="replay-out" role="status" aria-live="polite"></div>
    ${table(
      d.total > d.letters.length
        ? `The ${d.letters.length} newest dead letters of ${d.total}`
        : 'Newest dead letters',
      ['Dead at', 'Reason', 'Batch', 'Events', 'Attempts', 'Error', 'Replayed'],
      d.letters.map((l) => [
        when(l.dead_at),
        esc(l.reason),
        `<code>${esc(l.batch_id ?? '—')}</code>`,
        esc(l.events),
        esc(l.attempts),
        esc(l.error ?? '—'),
        l.replayed_at ? when(l.replayed_at) : 'no',
      ]),
      'None.',
    )}`);
  const out = $('replay-out');
  const buttons = (disabled) => {
    for (const b of ['dry-run', 'do-replay']) $(b).disabled = disabled;
  };
  const failed = (err) => {
    fieldErrors('re-', err);
    out.innerHTML = `<p class="error" role="alert">${esc(err.message)}</p>`;
  };
  const finish = () => {
    out.removeAttribute('aria-busy');
    buttons(false);
  };
  const progressHtml = (j) =>
    j.selected === null
      ? '<p id="replay-progress">Replaying: reading the dead-letter queue…</p>'
      : `<p id="replay-progress">Replaying: sent ${esc(j.sent)} of ${esc(j.selected)}${j.skipped ? ` (${esc(j.skipped)} skipped)` : ''}…</p>
        <progress id="replay-bar" aria-label="Replay progress" max="${esc(Math.max(1, j.selected))}" value="${esc(j.sent)}"></progress>`;
  // A replay runs as a job on the API; its progress is read until it is done, then its summary shows.
  const follow = (location) =>
    api('GET', location).then(({ data: j }) => {
      if (!j.done) {
        out.innerHTML = progressHtml(j);
        return new Promise((r) => setTimeout(r, 250)).then(() => follow(location));
      }
      if (j.error) throw new Error(j.error);
      out.innerHTML = summaryHtml(j.summary);
    });
  const run = (dryRun) => {
    for (const f of ['date_from', 'date_to', 'reasons', 'rate_per_sec']) $(`re-${f}`).textContent = '';
    const reasons = REPLAYABLE.filter((r) => $(`r-${r}`).checked);
    const body = { dry_run: dryRun, resume: $('r-resume').checked };
    const from = fromLocalInput($('r-from').value);
    const to = fromLocalInput($('r-to').value);
    if (from !== undefined) body.date_from = from;
    if (to !== undefined) body.date_to = to;
    if (reasons.length) body.reasons = reasons;
    if ($('r-rate').value !== '') body.rate_per_sec = Number($('r-rate').value);
    out.setAttribute('aria-busy', 'true');
    out.innerHTML = `<p>${dryRun ? 'Reading the dead-letter queue…' : 'Replaying…'}</p>`;
    buttons(true);
    const work = dryRun
      ? api('POST', `/v1/webhooks/${enc(id)}/resend`, body).then(({ data }) => {
          out.innerHTML = summaryHtml(data);
        })
      : api('POST', `/v1/webhooks/${enc(id)}/replays`, body).then(({ data: j }) =>
          follow(`/v1/webhooks/${enc(id)}/replays/${enc(j.id)}`),
        );
    work.catch(failed).finally(finish);
  };
  $('dry-run').addEventListener('click', () => run(true));
  $('do-replay').addEventListener('click', () => run(false));
  $('dl-resume')?.addEventListener('click', () =>
    api('POST', `/v1/webhooks/${enc(id)}/resume`)
      .then(({ data }) => {
        $('dl-status').innerHTML = `Status: ${statusText(data)}`;
      })
      .catch((err) => {
        out.innerHTML = `<p class="error" role="alert">${esc(err.message)}</p>`;
      }),
  );
}
