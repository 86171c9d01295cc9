/** Entry of the SRE dead-letter CLI: `node services/dlq/src/main.ts <list|show|replay> [options]`. */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCli } from './cli.ts';
import { demoKeys } from './demo.ts';

const err = (text: string) => process.stderr.write(text);
const env = { ...process.env };
// The README's commands are run in the demo, whose key `npm start` keeps with its data, not in the
// environment: without this, `replay` refused with exit 2 there.
const found = demoKeys(env, fileURLToPath(new URL('../../../.data/demo/secrets.json', import.meta.url)), {
  exists: existsSync,
  read: (path) => readFileSync(path, 'utf8'),
});
if (found) {
  env.SUBSCRIPTION_ENCRYPTION_KEYS = found.keys;
  if (process.argv[2] === 'replay')
    err(`dlq: SUBSCRIPTION_ENCRYPTION_KEYS not set, using the demo's key from ${found.file}\n`);
}
const code = await runCli(process.argv.slice(2), {
  env,
  out: (text) => process.stdout.write(text),
  err,
  tty: process.stderr.isTTY === true,
});
process.exitCode = code;
