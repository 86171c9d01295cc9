/**
 * The HTTP application: fastify with the route schemas, bearer auth, MailerSend-shaped errors, and the
 * OpenAPI document generated from the same schemas. Everything it talks to comes in through `ApiDeps`.
 */
import swagger from '@fastify/swagger';
import { Counter, Histogram } from '@hookpost/metrics';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyContextConfig,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { registerConsole } from './console/index.ts';
import type { ApiDeps, RouteContext } from './deps.ts';
import {
  acceptJsonBodiesOnly,
  fieldErrors,
  INVALID,
  KeyedLock,
  MAX_URL_LENGTH,
  methodsAt,
} from './http-support.ts';
import { ReplayJobs, registerReplayRoutes } from './replay-jobs.ts';
import { registerActionRoutes } from './routes-actions.ts';
import { registerInsightRoutes } from './routes-insights.ts';
import { registerWebhookRoutes } from './routes-webhooks.ts';
import { errorResponses } from './schemas.ts';

const NOT_FOUND = { message: 'Resource not found.' };

/** A route as registered (HEAD routes fastify adds for GET included); the gate tests walk this list. */
export interface RouteSummary {
  method: string;
  url: string;
  public: boolean;
  write: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    routeSummaries: readonly RouteSummary[];
  }
  interface FastifyContextConfig {
    /** Served without a token (the OpenAPI document, static console assets). Routes are gated unless set. */
    public?: boolean;
  }
}

const tooLong = (reply: FastifyReply) =>
  reply.code(414).send({ message: `The URL is longer than ${MAX_URL_LENGTH} characters.` });

export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    bodyLimit: deps.bodyLimitBytes,
    // No parameter is too long for the router before the URL is (then the 414 below): a long id is then
    // the schema's to refuse, with a 422 naming it.
    routerOptions: { maxParamLength: MAX_URL_LENGTH },
    // A path that does not decode, or past the URL limit, answers in the API's own error shape.
    frameworkErrors: (error, _request, raw) => {
      const reply = raw as unknown as FastifyReply;
      if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') return tooLong(reply);
      if (error.code === 'FST_ERR_BAD_URL')
        return reply.code(400).send({ message: 'The request path is not valid percent-encoding.' });
      return reply.code(500).send({ message: 'Internal error.' });
    },
    // Requests are logged by method, url and status only: headers (Authorization) never reach a line.
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: true },
    },
  });
  app.decorateRequest('principal', null);
  acceptJsonBodiesOnly(app);
  if (deps.metrics) {
    // Labels stay bounded: the route pattern (never the id in it), the method and the status class.
    const labelNames = ['method', 'route', 'status_class'] as const;
    const requests = new Counter({
      name: 'webhooks_api_requests_total',
      help: 'Management API requests by route pattern and status class',
      labelNames,
      registers: [deps.metrics],
    });
    const duration = new Histogram({
      name: 'webhooks_api_request_duration_seconds',
      help: 'Management API request duration',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [deps.metrics],
    });
    app.addHook('onResponse', async (request, reply) => {
      const labels = {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_class: `${Math.floor(reply.statusCode / 100)}xx`,
      };
      requests.inc(labels);
      duration.observe(labels, reply.elapsedTime / 1000);
    });
  }

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'hookpost management API',
        version: '1.0.0',
        description:
          'Webhook subscriptions for email events, shaped like MailerSend’s webhook API, plus test sends, resume, secret rotation, resend from the dead-letter queue and a 7-day delivery history.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  // The gate runs after routing, on the route the router matched (never on the raw URL, which the router
  // decodes and normalises): every route needs a bearer token unless its config says `public: true`.
  // An unmatched URL answers 404 and nothing else, whatever its spelling and whoever asks.
  const routes: RouteSummary[] = [];
  app.decorate('routeSummaries', routes);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const config = (route.config ?? {}) as FastifyContextConfig;
    const gate = { public: config.public === true, write: config.write === true };
    for (const method of methods) routes.push({ method, url: route.url, ...gate });
    // The document declares what the hooks and the error handler below can answer, for every route.
    if (route.schema && !route.schema.hide)
      route.schema.response = {
        ...errorResponses(methods[0]!, { url: route.url, ...gate }),
        ...(route.schema.response as object | undefined),
      };
  });
  app.addHook('onRequest', async (request, reply) => {
    if (request.url.length > MAX_URL_LENGTH) return tooLong(reply);
  });
  app.addHook('onRequest', async (request, reply) => {
    if (request.is404 || request.routeOptions.config.public === true) return;
    const result = deps.authority.authenticate(request.headers.authorization);
    if (!result.ok) {
      reply.header('WWW-Authenticate', 'Bearer');
      return reply.code(401).send({ message: `Unauthenticated: ${result.reason}.` });
    }
    request.principal = result.principal;
    if (request.routeOptions.config.write && result.principal.access !== 'read-write')
      return reply.code(403).send({ message: 'This token may read but not change webhooks.' });
  });
  // Routes whose body is optional see `{}` when none was sent, so the schema (not a crash) decides.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && (request.method === 'POST' || request.method === 'PUT'))
      request.body = {};
  });

  app.setErrorHandler(
    (
      error: Error & {
        statusCode?: number;
        code?: string;
        validation?: unknown[];
        validationContext?: string;
      },
      request,
      reply,
    ) => {
      // An unrouted request failing early (a body on an unknown method) is still a 404 or a 405.
      if (request.is404) return unrouted(request, reply);
      if (error.validation)
        return reply.code(422).send({
          message: INVALID,
          errors: fieldErrors(error.validation as never, error.validationContext),
        });
      const status = error.statusCode ?? 500;
      if (status === 413)
        return reply.code(413).send({ message: `Request body is larger than ${deps.bodyLimitBytes} bytes.` });
      if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
        return reply.code(415).send({ message: 'Request body must be application/json.' });
      if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError)
        return reply.code(400).send({ message: `Request body is not valid JSON: ${error.message}` });
      if (status >= 400 && status < 500) return reply.code(status).send({ message: error.message });
      // Kafka down or the table lagging: a retry can help, so say so (a retried PUT is idempotent).
      if (error.name?.startsWith('KafkaJS') || /did not reach/.test(error.message)) {
        request.log.warn({ err: error }, 'subscriptions store unavailable');
        return reply
          .code(503)
          .header('Retry-After', '5')
          .send({ message: 'Webhook store unavailable; retry shortly.' });
      }
      request.log.error({ err: error }, 'request failed');
      return reply.code(500).send({ message: 'Internal error.' });
    },
  );
  // A method the path does not serve is a 405 with Allow (the paths are public in /openapi.json);
  // anything else unrouted is a 404 that says no more.
  function unrouted(request: FastifyRequest, reply: FastifyReply) {
    const allowed = methodsAt(routes, request.url);
    if (allowed.length === 0) return reply.code(404).send({ message: 'No such route.' });
    return reply
      .code(405)
      .header('Allow', allowed.join(', '))
      .send({ message: `${request.method} is not allowed here; allowed: ${allowed.join(', ')}.` });
  }
  app.setNotFoundHandler(unrouted);

  const ctx: RouteContext = {
    deps,
    lock: new KeyedLock(),
    visible(request, reply, id) {
      const w = deps.table.get(id);
      if (w && request.principal?.canSee(w.domain_id)) return w;
      void reply.code(404).send(NOT_FOUND);
      return undefined;
    },
    locked(request, reply, id, change) {
      return ctx.lock.run(id, async () => {
        const current = ctx.visible(request, reply, id);
        return current ? change(current) : reply;
      });
    },
  };
  registerWebhookRoutes(app, ctx);
  registerActionRoutes(app, ctx);
  registerInsightRoutes(app, ctx);
  const jobs = new ReplayJobs();
  app.addHook('onClose', async () => jobs.stopping.abort());
  registerReplayRoutes(app, ctx, jobs);
  registerConsole(app);
  app.get('/openapi.json', { schema: { hide: true }, config: { public: true } }, async () => app.swagger());
  await app.ready();
  return app;
}
