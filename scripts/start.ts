/**
 * `npm start`: the product on the local stack with demo traffic, for a newcomer's first minutes.
 * Starts Kafka and the registry (unless KAFKA_BROKERS is given), then runs each service as its own
 * child process (as production runs them, one process per role) and prefixes their output. Ctrl-C
 * (or SIGTERM) stops the services gracefully, then the stack if this command started it.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';

const root = new URL('..', import.meta.url).pathname;
const stack = `${root}scripts/stack.sh`;

interface Role {
  name: string;
  entry: string;
  env?: Record<string, string>;
}

// Each role's ops port is fixed so that Prometheus (deploy/prometheus) can scrape the demo.
const roles: Role[] = [{ name: 'demo', entry: 'services/demo/src/main.ts', env: { HTTP_PORT: '9470' } }];

let startedStack = false;
if (!process.env.KAFKA_BROKERS) {
  startedStack = spawnSync('bash', [stack, 'status'], { stdio: 'ignore' }).status !== 0;
  if (startedStack) execFileSync('bash', [stack, 'start'], { stdio: 'inherit' });
  for (const line of execFileSync('bash', [stack, 'env'], { encoding: 'utf8' }).trim().split('\n')) {
    const [k, v] = line.split('=', 2) as [string, string];
    process.env[k] ??= v;
  }
}

const children = new Map<string, ChildProcess>();
let stopping = false;

function run(role: Role): void {
  const child = spawn(process.execPath, [role.entry], {
    cwd: root,
    env: { LOG_LEVEL: 'warn', ...process.env, ...role.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.set(role.name, child);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => console.log(`[${role.name}] ${line}`));
  }
  child.on('exit', (code, signal) => {
    children.delete(role.name);
    if (!stopping) {
      console.error(`[${role.name}] exited (${signal ?? code}); stopping everything`);
      void shutdown(code || 1);
    } else if (children.size === 0) {
      finish();
    }
  });
}

let exitCode = 0;
function finish(): void {
  if (startedStack) execFileSync('bash', [stack, 'stop'], { stdio: 'inherit' });
  process.exit(exitCode);
}

async function shutdown(code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  exitCode = code;
  console.log('stopping services…');
  if (children.size === 0) return finish();
  for (const child of children.values()) child.kill('SIGTERM');
  // A service that ignores SIGTERM past its own bound is killed, so Ctrl-C always ends the demo.
  setTimeout(() => {
    for (const child of children.values()) child.kill('SIGKILL');
  }, 30_000).unref();
}

process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
for (const role of roles) run(role);
console.log(
  `running ${roles.map((r) => r.name).join(', ')} on ${process.env.KAFKA_BROKERS}; Ctrl-C stops everything`,
);
