/** In-process entry for tests and embedding: the start function and its configuration schema. */
export { hashToken } from './auth.ts';
export { type ApiConfig, apiSchema } from './config.ts';
export { type ApiOptions, type RunningApi, startApi } from './start.ts';
