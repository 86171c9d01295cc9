/** Entry of the SRE dead-letter CLI: `node services/dlq/src/main.ts <list|show|replay> [options]`. */
import { runCli } from './cli.ts';

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  tty: process.stderr.isTTY === true,
});
process.exitCode = code;
