/**
 * The records of the batcher's watermark topics (webhooks.batcher-watermarks,
 * webhooks.event-watermarks): key `<input partition>/<webhook id>` or `<input partition>#poison`,
 * value the input offset in decimal (null: a tombstone). The batcher writes and reads them; the
 * fan-out reads the events batcher's when it takes a partition over from it.
 */
export function webhookKey(partition: number, webhookId: string): string {
  return `${partition}/${webhookId}`;
}

export function poisonKey(partition: number): string {
  return `${partition}#poison`;
}

/** A watermark's offset, or undefined when the value is not one (a tombstone, or bytes no batcher wrote). */
export function watermarkOffset(value: string | null): bigint | undefined {
  return value !== null && /^\d{1,19}$/.test(value) ? BigInt(value) : undefined;
}
