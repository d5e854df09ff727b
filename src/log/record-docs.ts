// docs/log-records.md's sections, rendered from the registry (records.ts): one per record kind, with
// its versions, writers, readers, checks and a table of its members from the schema. The page holds
// exactly these sections; records.test.ts compares them.

import { ISO_TIME_PATTERN, SUBJECT_HASH_PATTERN, type JsonSchema } from './record-schemas.js';
import { LOG_RECORDS, RECORD_CHECKS, type LogRecordKindInfo } from './records.js';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (v: unknown) => `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;

function typeText(s: JsonSchema): string {
  if (s['const'] !== undefined) return code(s['const']);
  const types = Array.isArray(s['type']) ? (s['type'] as string[]) : [s['type'] as string | undefined];
  const nullable = types.includes('null');
  const base = types.find((t) => t !== 'null');
  let text: string;
  if (Array.isArray(s['enum']))
    text = `one of ${(s['enum'] as unknown[])
      .filter((x) => x !== null)
      .map(code)
      .join(', ')}`;
  else if (base === 'string' && s['pattern'] === ISO_TIME_PATTERN) text = 'time (ISO 8601, UTC, ms)';
  else if (base === 'string' && s['pattern'] === SUBJECT_HASH_PATTERN) text = 'keyed hash (43 base64url characters)';
  else if (base === 'string') text = s['maxLength'] !== undefined ? `string (at most ${String(s['maxLength'])} characters)` : 'string';
  else if (base === 'integer') text = s['minimum'] === 0 ? 'integer ≥ 0' : 'integer';
  else if (base === 'array') text = `list of ${typeText(s['items'] as JsonSchema).replace(/^object$/, 'objects')}`;
  else if (base === 'object' && typeof s['additionalProperties'] === 'object') text = `map of name to ${typeText(s['additionalProperties'] as JsonSchema)}`;
  else text = base ?? 'any';
  return nullable ? `${text}, or null` : text;
}

/** Table rows of an object schema's members, nested members as `a.b` and `a[].b`. */
function rows(s: JsonSchema, prefix = ''): string[] {
  const props = (s['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = (s['required'] ?? []) as string[];
  const out: string[] = [];
  for (const [name, p] of Object.entries(props)) {
    const path = `${prefix}${name}`;
    out.push(`| \`${path}\` | ${cell(typeText(p))} | ${required.includes(name) ? 'yes' : 'no'} | ${cell(String(p['description'] ?? ''))} |`);
    if (p['properties']) out.push(...rows(p, `${path}.`));
    const items = p['items'] as JsonSchema | undefined;
    if (items?.['properties']) out.push(...rows(items, `${path}[].`));
  }
  return out;
}

function table(s: JsonSchema): string[] {
  return ['| member | type | required | meaning |', '|---|---|---|---|', ...rows(s)];
}

/** A version's schema: its table, or one per shape (`oneOf`). */
function shapes(s: JsonSchema): string[] {
  const variants = s['oneOf'] as JsonSchema[] | undefined;
  if (!variants) return table(s);
  return variants.flatMap((v, i) => [...(i > 0 ? [''] : []), `Shape ${i + 1}: ${String(v['description'])}`, '', ...table(v)]);
}

const list = (xs: readonly string[]) => (xs.length === 0 ? 'none' : xs.join('; '));

/** The section of docs/log-records.md for one kind. */
export function renderKind(kind: string, info: LogRecordKindInfo = LOG_RECORDS[kind]!): string {
  const versions = Object.keys(info.versions).map(Number);
  const lines = [
    `## \`${kind}\``,
    '',
    info.summary,
    '',
    `- written at: ${info.current === null ? 'never (retired)' : `v${info.current}`}; read at: ${versions.map((v) => `v${v}`).join(', ')}`,
    `- writers: ${list(info.writers)}`,
    `- readers: ${list(info.readers)}`,
    `- checks: ${info.checks.map((c) => `\`${c}\``).join(', ')}`,
  ];
  if (info.renamedTo !== undefined) {
    // The same schema as the kind it became, but for `type`: its tables are that kind's.
    lines.push('', `Members: those of \`${info.renamedTo}\` v1, with \`type\` \`${kind}\`.`);
    return `${lines.join('\n')}\n`;
  }
  for (const v of [...versions].reverse()) {
    lines.push('', `### \`${kind}\` v${v}${v === info.current ? '' : ' (read only)'}`, '', ...shapes(info.versions[v]!));
  }
  return `${lines.join('\n')}\n`;
}

/** The table of check names and what each means. */
export function renderChecks(): string {
  return `${['| check | what `log verify --records` finds |', '|---|---|', ...Object.entries(RECORD_CHECKS).map(([name, what]) => `| \`${name}\` | ${cell(what)} |`)].join('\n')}\n`;
}
