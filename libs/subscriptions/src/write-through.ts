import type { SubscriptionTable } from './table.ts';
import type { SubscriptionWriter, WriteResult } from './writer.ts';

/**
 * Read-your-writes, the one way: performs one write (a document or a tombstone) and resolves once this
 * process's `table` has applied it, so what the caller does next sees the change.
 */
export async function writeThrough(
  deps: { writer: SubscriptionWriter; table: SubscriptionTable },
  write: (writer: SubscriptionWriter) => Promise<WriteResult>,
): Promise<WriteResult> {
  const written = await write(deps.writer);
  await deps.table.waitForOffset(written.partition, written.offset);
  return written;
}
