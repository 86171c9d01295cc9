/**
 * The webhook `filter` field at the API: its OpenAPI/fastify schema (an object, whose content the
 * schema cannot say), the check that names the exact place of a mistake (`filter.$and[1].tags.$in`),
 * and the stored form. The language itself is libs/contracts/src/filter.ts; docs/filters.md the guide.
 */
import { compileFilter, FILTER_LIMITS, filterField, type WebhookFilter } from '@hookpost/contracts';

const description = `Content filter: a JSON match document; only events it matches are delivered. null removes it, {} matches every event. Applied to the payload as delivered (type, domain_id, created_at, data). Field names match fields; operators: $eq, $neq, $in, $nin, $gt, $gte, $lt, $lte, $contains, $startsWith, $endsWith, $exists, and $and, $or, $not. At most ${FILTER_LIMITS.maxDepth} levels deep, ${FILTER_LIMITS.maxNodes} nodes, strings of ${FILTER_LIMITS.maxString} characters and arrays of ${FILTER_LIMITS.maxArray} items; a mistake answers 422 naming its place (filter.$and[1].data.template_id.$in). See docs/filters.md.`;

/** Request body property: any object or null for the schema; `filterErrors` checks the content. */
export const filterInput = {
  type: ['object', 'null'],
  description,
  examples: [{ data: { email: { tags: 'invoices', recipient: { email: { $endsWith: '@example.com' } } } } }],
};

/** Response property: the filter as stored (additionalProperties, or the serializer would empty it). */
export const filterOutput = { type: ['object', 'null'], additionalProperties: true, description };

/** The errors of a filter sent by a client, keyed by the exact field; none for absent or null. */
export function filterErrors(filter: unknown): Record<string, string[]> {
  if (filter === undefined || filter === null) return {};
  const compiled = compileFilter(filter);
  return compiled.ok ? {} : { [filterField(compiled.path)]: [compiled.message] };
}

/** What is stored: `{}` matches everything, so it is stored as no filter (nothing to evaluate). */
export function storedFilter(filter: WebhookFilter | null | undefined): WebhookFilter | null {
  return filter && Object.keys(filter).length > 0 ? filter : null;
}
