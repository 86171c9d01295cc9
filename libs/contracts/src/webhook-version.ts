/**
 * The causal token of records produced after a change to their webhook: the `version` of the webhook
 * document their producer saw. Each service reads the subscriptions topic into a table of its own, so a
 * replay that follows a resume can reach delivery before delivery's table has read the resume: the
 * header lets delivery tell "suspended" from "my table is behind" (it waits for that version, bounded).
 */
import type { SourceMessage } from './dead-letters.ts';

/** Header on replayed batches and retry records: the webhook document version seen when producing them. */
export const WEBHOOK_VERSION_HEADER = 'x-webhook-version';

/** The header of a record produced under `version`. */
export function webhookVersionHeader(version: number): Record<string, string> {
  return { [WEBHOOK_VERSION_HEADER]: String(version) };
}

/**
 * The version a record carries, or null when it carries none usable. Headers are data from the topic:
 * anything but one positive decimal integer (a repeated header, `''`, `1e3`, ` 5`, `-1`, past 2^53) is
 * treated as absent, so the record is judged as any other record without the header, never thrown on.
 */
export function webhookVersionOf(headers: SourceMessage['headers']): number | null {
  const raw = headers?.[WEBHOOK_VERSION_HEADER];
  const text = Buffer.isBuffer(raw) ? raw.toString('latin1') : typeof raw === 'string' ? raw : undefined;
  if (text === undefined || !/^[1-9]\d{0,15}$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}
