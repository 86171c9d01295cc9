export { REPLAY_HEADERS, replayLedgerTopic } from './definitions.ts';
export { type DeadLetterScan, type StoredDeadLetter, scanDeadLetters } from './dlq.ts';
export { type LedgerEntry, readLedger } from './ledger.ts';
export { type ReadToEndOptions, readToEnd } from './read.ts';
export {
  type ReplayItem,
  type ReplayOptions,
  type ReplayProgress,
  type ReplayReport,
  type ReplayResult,
  type ReplayTopics,
  replay,
} from './replay.ts';
export {
  type ResumeDeps,
  type ResumeResult,
  resumedNotice,
  resumedWebhook,
  resumeWebhook,
} from './resume.ts';
export {
  type DeadLetterFilter,
  decide,
  eventCount,
  matches,
  type ReplayDecision,
  replayMessages,
  type SkipReason,
  type SummaryRow,
  summarise,
} from './select.ts';
