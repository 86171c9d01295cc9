import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';

export { SchemaRegistry } from '@kafkajs/confluent-schema-registry';

export type Compatibility = 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FULL' | 'NONE';

/**
 * Longest wait for one registry request. Without one, a registry that accepted a request and never
 * answered held its caller for ever: CI saw Apicurio 3.3.3 leave a registration unanswered for the
 * test's whole 60 s (no access-log line, its worker thread free again a minute later), and an MTA
 * producer or a consumer fetching a schema id would wait the same. A request that times out is tried
 * again (registering the same schema again answers the same id), within the client's retries.
 */
const REGISTRY_REQUEST_TIMEOUT_MS = 10_000;

type Middleware = NonNullable<ConstructorParameters<typeof SchemaRegistry>[0]['middlewares']>[number];

/** Every request of the client gets the timeout (mappersmith's; re-applied to each retry). */
function timeoutMiddleware(timeoutMs: number): Middleware {
  return () => ({
    prepareRequest: (next) => next().then((request) => request.enhance({ timeout: timeoutMs })),
  });
}

/** The client's retry rule (a 5xx answer) plus a request that timed out. */
function retriable(response: { responseStatus: number; error(): Error | null }): boolean {
  return response.responseStatus >= 500 || response.error()?.name === 'TimeoutError';
}

export function createRegistry(url: string, options: { requestTimeoutMs?: number } = {}): SchemaRegistry {
  return new SchemaRegistry({
    host: url,
    clientId: 'hookpost',
    // Every call of this API is idempotent (registering a schema again answers its id), so POSTs are
    // retried too, not only GETs as the retry middleware's default has it.
    retry: { validateRetry: retriable, enableRetry: () => true },
    middlewares: [timeoutMiddleware(options.requestTimeoutMs ?? REGISTRY_REQUEST_TIMEOUT_MS)],
  });
}

/**
 * Registers `schema` under `subject` with a fixed compatibility, through one path.
 * Apicurio answers NONE (not 404) for a subject without a rule, which makes the client's register()
 * throw "BACKWARD != NONE" when anything else created the subject. Setting the rule first, every
 * time, makes registration idempotent whoever came before.
 */
export async function registerSchema(
  registry: SchemaRegistry,
  url: string,
  subject: string,
  schema: Record<string, unknown>,
  compatibility: Compatibility = 'BACKWARD',
  /** Per request of the compatibility PUT (the client's own is createRegistry's). */
  timeoutMs = REGISTRY_REQUEST_TIMEOUT_MS,
): Promise<number> {
  await setCompatibility(url, subject, compatibility, timeoutMs);
  const { id } = await registry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
    { subject, compatibility: compatibility as never },
  );
  return id;
}

/**
 * PUT /config/{subject}: the one call the client library keeps private. Idempotent, so a request the
 * registry leaves unanswered past the timeout is sent again (three tries in all).
 */
async function setCompatibility(
  url: string,
  subject: string,
  compatibility: Compatibility,
  timeoutMs = REGISTRY_REQUEST_TIMEOUT_MS,
): Promise<void> {
  let res: Response;
  for (let attempt = 1; ; attempt += 1) {
    try {
      res = await fetch(`${url.replace(/\/$/, '')}/config/${encodeURIComponent(subject)}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify({ compatibility }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      break;
    } catch (error) {
      if ((error as Error).name !== 'TimeoutError' || attempt >= 3) throw error;
    }
  }
  if (!res.ok)
    throw new Error(
      `schema registry refused compatibility ${compatibility} for ${subject}: HTTP ${res.status}`,
    );
}
