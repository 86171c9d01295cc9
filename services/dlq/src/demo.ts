/**
 * What the CLI takes from the demo's files when it runs beside `npm start` and the environment does not
 * say: the subscription key (`.data/demo/secrets.json`; never the API token) and, while the demo runs,
 * its broker (`.data/demo/endpoints.json`, which `npm start` writes once ready and removes on exit, so a
 * demo on other ports is still the one the README's commands reach). Never when the environment has one.
 */
type DemoFs = { exists: (path: string) => boolean; read: (path: string) => string };

function fromDemoFile(
  envValue: string | undefined,
  file: string,
  field: string,
  fs: DemoFs,
): { value: string; file: string } | null {
  if (envValue || !fs.exists(file)) return null;
  try {
    const value = (JSON.parse(fs.read(file)) as Record<string, unknown> | null)?.[field];
    return typeof value === 'string' && value !== '' ? { value, file } : null;
  } catch {
    return null;
  }
}

export function demoKeys(
  env: Record<string, string | undefined>,
  file: string,
  fs: DemoFs,
): { keys: string; file: string } | null {
  const found = fromDemoFile(env.SUBSCRIPTION_ENCRYPTION_KEYS, file, 'encryptionKeys', fs);
  return found && { keys: found.value, file };
}

export function demoBrokers(
  env: Record<string, string | undefined>,
  file: string,
  fs: DemoFs,
): { brokers: string; file: string } | null {
  const found = fromDemoFile(env.KAFKA_BROKERS, file, 'kafkaBrokers', fs);
  return found && { brokers: found.value, file };
}
