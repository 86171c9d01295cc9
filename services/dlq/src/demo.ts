/**
 * The demo's subscription key, when the CLI runs beside `npm start` and no key is in the environment.
 * Only the key is taken from the file (never the API token), and never when the environment has one.
 */
export function demoKeys(
  env: Record<string, string | undefined>,
  file: string,
  fs: { exists: (path: string) => boolean; read: (path: string) => string },
): { keys: string; file: string } | null {
  if (env.SUBSCRIPTION_ENCRYPTION_KEYS || !fs.exists(file)) return null;
  try {
    const keys = (JSON.parse(fs.read(file)) as { encryptionKeys?: unknown }).encryptionKeys;
    return typeof keys === 'string' && keys !== '' ? { keys, file } : null;
  } catch {
    return null;
  }
}
