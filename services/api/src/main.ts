/**
 * Composition root of the management API (MailerSend-shaped webhook CRUD, test sends, resume, secret
 * rotation, resend from the DLQ, 7-day history). Config: the common keys plus api.*, ssrf.*,
 * subscriptions.encryptionKeys (see config.ts; every key has an env var).
 */
import { runService } from '@hookpost/service';
import { apiSchema } from './config.ts';
import { startApi } from './start.ts';

await runService({ name: 'api', schema: apiSchema, start: (ctx) => startApi(ctx) });
