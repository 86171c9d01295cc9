/**
 * Renders the operator's configuration reference (docs/configuration.md) from the convict schemas
 * themselves, so the document cannot drift from what the services read. Pure: scripts/config-reference.ts
 * supplies the schemas and writes the file; a test regenerates it and compares.
 */

export interface SchemaSource {
  /** Service (or CLI) name, the section title. */
  name: string;
  /** One sentence on what the process is, under the title. */
  summary: string;
  schema: unknown;
}

export interface ConfigKey {
  key: string;
  env: string;
  default: string;
  format: string;
  doc: string;
  sensitive: boolean;
}

const BUILTIN_FORMATS = new Map<unknown, string>([
  [String, 'string'],
  [Number, 'number'],
  [Boolean, 'boolean'],
]);

const NAMED_FORMATS: Record<string, string> = {
  nat: 'integer ≥ 0',
  int: 'integer',
  port: 'port (0–65535)',
  url: 'absolute URL',
  brokerList: 'host:port list',
};

function isLeaf(node: unknown): node is Record<string, unknown> {
  return !!node && typeof node === 'object' && 'default' in node && ('doc' in node || 'format' in node);
}

/** Every key of a schema, depth first in declaration order, with its dotted path. */
export function configKeys(schema: unknown, prefix = ''): ConfigKey[] {
  const out: ConfigKey[] = [];
  if (!schema || typeof schema !== 'object') return out;
  for (const [name, node] of Object.entries(schema)) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (isLeaf(node)) {
      const sensitive = node.sensitive === true;
      out.push({
        key,
        env: typeof node.env === 'string' ? node.env : '',
        default: renderDefault(node.default, sensitive),
        format: renderFormat(node.format, node.default),
        doc: typeof node.doc === 'string' ? node.doc : '',
        sensitive,
      });
    } else out.push(...configKeys(node, key));
  }
  return out;
}

/** A sensitive default is never printed, even if a schema were ever given a real one. */
function renderDefault(value: unknown, sensitive: boolean): string {
  if (sensitive) return value === '' || value === undefined ? '*secret, none*' : '*secret, hidden*';
  if (value === '') return '*empty*';
  if (value === null || value === undefined) return '*none*';
  return code(typeof value === 'string' ? value : JSON.stringify(value));
}

function renderFormat(format: unknown, fallback: unknown): string {
  if (Array.isArray(format)) return `one of ${format.map((f) => code(String(f))).join(', ')}`;
  if (typeof format === 'string') return NAMED_FORMATS[format] ?? format;
  const builtin = BUILTIN_FORMATS.get(format);
  if (builtin) return builtin;
  // A custom validator: its rules are in the doc; say what kind of value it takes.
  if (typeof format === 'function') return `${typeof fallback}, validated`;
  return typeof fallback;
}

function code(text: string): string {
  return `\`${text.replaceAll('`', "'")}\``;
}

function cell(text: string): string {
  // `<id>` in a doc would be read as an HTML tag and vanish from the rendered page.
  return text.replaceAll('|', '\\|').replaceAll('<', '&lt;').replaceAll('\n', ' ');
}

/** The whole markdown document: one section per source, then which sources read each env var. */
export function renderConfigReference(sources: readonly SchemaSource[], command: string): string {
  const lines: string[] = [
    '# Configuration reference',
    '',
    `<!-- Generated from the convict schemas by \`${command}\`; do not edit by hand. -->`,
    '',
    'Every process reads its configuration from environment variables only, validated once at start-up:',
    'a bad value stops the process with a message naming the key and its env var (never the value of a',
    'secret). An unset or empty variable means the default. Keys are the dotted paths in the schema.',
    '',
  ];
  const readers = new Map<string, string[]>();
  for (const source of sources) {
    lines.push(`## ${source.name}`, '', source.summary, '');
    lines.push('| Key | Env var | Default | Format | Description |', '| --- | --- | --- | --- | --- |');
    for (const k of configKeys(source.schema)) {
      lines.push(
        `| ${code(k.key)} | ${k.env ? code(k.env) : ''} | ${cell(k.default)} | ${cell(k.format)} | ${cell(k.doc)}${k.sensitive ? ' *Secret.*' : ''} |`,
      );
      if (k.env) readers.set(k.env, [...(readers.get(k.env) ?? []), source.name]);
    }
    lines.push('');
  }
  lines.push('## Env var → services that read it', '', '| Env var | Read by |', '| --- | --- |');
  for (const env of [...readers.keys()].sort())
    lines.push(`| ${code(env)} | ${[...new Set(readers.get(env))].join(', ')} |`);
  lines.push('');
  return lines.join('\n');
}
