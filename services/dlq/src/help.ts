/** Help texts, one per command; every command answers --help. */
export const HELP: Record<string, string> = {
  main: `dlq: inspect and replay the dead-letter queue (webhooks.dlq)

Usage: dlq <command> [options]

Commands:
  list     counts of dead letters by webhook and reason, and the newest ones' ids
  show     one dead letter: its batch, every attempt, the error
  replay   re-enqueue dead letters for delivery, each at most once

Run "dlq <command> --help" for the options of a command.

Environment: KAFKA_BROKERS, TOPIC_PREFIX, SUBSCRIPTION_ENCRYPTION_KEYS (replay only), KAFKA_CONNECT_TIMEOUT_MS.
Exit codes: 0 done, 1 failed (e.g. Kafka unreachable), 2 usage or configuration error,
            3 refused (a target webhook is suspended), 4 not found.
`,
  list: `Usage: dlq list [--webhook ID] [--reason R[,R]] [--from TIME] [--to TIME] [--limit N] [--json]

Counts dead letters by webhook and reason, with the events they hold and the oldest/newest, then the
newest dead letters themselves with their DLQ_ID (what "dlq show" takes).

  --webhook ID     only this webhook
  --reason R       exhausted, suspended, gone, poison, refused, deleted, unknown_type (repeat or comma-separate)
  --from TIME      dead at or after TIME: ISO 8601, "now", or a duration ago (30m, 24h, 7d)
  --to TIME        dead before TIME
  --limit N        how many dead letters to print after the counts (default 20, 0 for all)
  --json           machine-readable output
`,
  show: `Usage: dlq show <dlq_id> [--json]

Prints one dead letter: reason, webhook, the batch (id, events, body excerpt), every attempt and the error.
Exits 4 when no dead letter has that id.
`,
  replay: `Usage: dlq replay [--webhook ID] [--reason R] [--from TIME] [--to TIME] [--dry-run] [--rate N/s]
                  [--resume] [--force] [--json]

Re-enqueues matching dead letters: batches go back to webhooks.batches unchanged (same batch id and
event ids, so receivers can drop duplicates; delivery starts them at attempt 1), dead letters of a
suspended webhook go back to webhooks.dispatch. Each dead letter is replayed once: a ledger
(webhooks.dlq.replayed) records it in the same transaction, so running the same replay again does
nothing. Poison and deleted-webhook records are never replayed.

  --webhook ID     only this webhook
  --reason R       only these reasons (repeat or comma-separate)
  --from / --to    time range on dead_at (see dlq list --help)
  --dry-run        show what would be replayed; change nothing
  --rate N/s       at most N dead letters per second (default: unlimited)
  --resume         resume suspended target webhooks first (otherwise a real replay is refused, exit 3;
                   a dry run is allowed and names the webhooks that need it)
  --force          replay dead letters that were already replayed
  --json           print the report as JSON

A progress bar with counts and ETA goes to stderr.
`,
};
