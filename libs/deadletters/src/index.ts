export { replayLedgerTopic } from './definitions.ts';
export { scanDeadLetters } from './dlq.ts';
export { readLedger } from './ledger.ts';
export { readToEnd } from './read.ts';
export { type ReplayReport, type ReplayResult, replay } from './replay.ts';
export { resumeWebhook } from './resume.ts';
export { type DeadLetterFilter, eventCount, summarise } from './select.ts';
