/**
 * What the CLI prints for people (the --json output is the values themselves): the dead-letter summary
 * table, the newest letters, and one letter in full. Pure; only text in, text out.
 */
import type { scanDeadLetters, summarise } from '@hookpost/deadletters';
import { count } from './args.ts';

export function renderList(rows: ReturnType<typeof summarise>, unreadable: number): string {
  if (rows.length === 0)
    return `no dead letters match${unreadable ? ` (${count(unreadable, 'unreadable record')})` : ''}\n`;
  const head = ['WEBHOOK', 'REASON', 'COUNT', 'EVENTS', 'OLDEST', 'NEWEST'];
  const body = rows.map((r) => [
    r.webhook_id ?? '-',
    r.reason,
    String(r.count),
    String(r.events),
    new Date(r.oldest).toISOString(),
    new Date(r.newest).toISOString(),
  ]);
  const total = rows.reduce((n, r) => n + r.count, 0);
  return `${table(head, body)}total ${total}${unreadable ? `, ${count(unreadable, 'unreadable record')}` : ''}\n`;
}

/** Columns padded to their widest cell, two spaces apart. */
function table(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    `${cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()}\n`;
  return `${line(head)}${body.map(line).join('')}`;
}

export function renderLetters(
  letters: { dlq_id: string; webhook_id: string | null; reason: string; dead_at: number; events: number }[],
  total: number,
): string {
  if (total === 0) return '';
  const head = ['DLQ_ID', 'WEBHOOK', 'REASON', 'EVENTS', 'DEAD_AT'];
  const body = letters.map((l) => [
    l.dlq_id,
    l.webhook_id ?? '-',
    l.reason,
    String(l.events),
    new Date(l.dead_at).toISOString(),
  ]);
  const more =
    letters.length < total
      ? `newest ${letters.length} of ${total} shown (--limit N for more, --limit 0 for all); dlq show <DLQ_ID> for one\n`
      : 'dlq show <DLQ_ID> for one\n';
  return `\n${table(head, body)}${more}`;
}

export function renderShow(found: Awaited<ReturnType<typeof scanDeadLetters>>['letters'][number]): string {
  const dl = found.letter;
  const lines = [
    `dlq_id     ${dl.dlq_id}`,
    `reason     ${dl.reason}`,
    `webhook    ${dl.webhook_id ?? '-'}`,
    `dead_at    ${new Date(dl.dead_at).toISOString()}`,
    `location   partition ${found.partition}, offset ${found.offset}`,
    `error      ${dl.error ?? '-'}`,
  ];
  if (dl.batch) {
    lines.push(
      `batch      ${dl.batch.batch_id} (${dl.batch.format}, ${count(dl.batch.event_ids.length, 'event')})`,
      `events     ${dl.batch.event_ids.join(', ')}`,
      `body       ${dl.batch.body.length > 300 ? `${dl.batch.body.slice(0, 300)}… (${dl.batch.body.length} chars)` : dl.batch.body}`,
    );
  }
  if (dl.dispatch)
    lines.push(
      `dispatch   ${count(dl.dispatch.length, 'record')}: ${dl.dispatch.map((d) => d.event_id).join(', ')}`,
    );
  if (dl.source) lines.push(`source     ${dl.source.topic}[${dl.source.partition}]@${dl.source.offset}`);
  lines.push(`attempts   ${dl.attempts.length}`);
  for (const a of dl.attempts)
    lines.push(
      `  #${a.attempt} ${a.tier.padEnd(6)} ${new Date(a.at).toISOString()}  ${a.status ?? '---'}  ${a.latency_ms} ms  ${a.error ?? ''}`.trimEnd(),
    );
  return `${lines.join('\n')}\n`;
}
