/** Entry of the SRE dead-letter CLI: `node services/dlq/src/main.ts <list|show|replay> [options]`. */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCli } from './cli.ts';
import { demoBrokers, demoKeys } from './demo.ts';

const err = (text: string) => process.stderr.write(text);
const env = { ...process.env };
// The README's commands are run in the demo, whose key `npm start` keeps with its data, not in the
// environment: without this, `replay` refused with exit 2 there.
const fs = { exists: existsSync, read: (path: string) => readFileSync(path, 'utf8') };
const demoFile = (name: string) => fileURLToPath(new URL(`../../../.data/demo/${name}`, import.meta.url));
// Without this, a demo on other ports was not the broker the CLI read: it silently read 19092.
const broker = demoBrokers(env, demoFile('endpoints.json'), fs);
if (broker) {
  env.KAFKA_BROKERS = broker.brokers;
  err(
    `dlq: KAFKA_BROKERS not set, using the running demo's broker ${broker.brokers} (from ${broker.file})\n`,
  );
}
const found = demoKeys(env, demoFile('secrets.json'), fs);
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
