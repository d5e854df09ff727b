// OpenLineage intake: validate RunEvent / DatasetEvent / JobEvent against the published JSON Schemas
// (every version shipped in ./data/openlineage/, resolved offline). lineage-event.ts parses an
// accepted event into the view the flow graph is built from.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020Module from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/** Where the published schemas live; each file's `$id` is `SPEC_URL_PREFIX` + its path here. */
export const DEFAULT_OPENLINEAGE_SCHEMA_DIR = fileURLToPath(new URL('./data/openlineage/', import.meta.url));
export const SPEC_URL_PREFIX = 'https://openlineage.io/spec/';
/** The core version used when an event's `schemaURL` is absent or names no published version. */
export const CURRENT_CORE_VERSION = '2-0-2';
/** `columnLineage` entry that holds the facet's dataset-level `dataset` list (inputs that affect
 * every field of the output: filters, joins, sorts, grouping). */
export const DATASET_WIDE_FIELD = '*';

export type LineageEventKind = 'RunEvent' | 'DatasetEvent' | 'JobEvent';
export type FacetLocation = 'RunFacet' | 'JobFacet' | 'DatasetFacet' | 'InputDatasetFacet' | 'OutputDatasetFacet';
const FACET_LOCATIONS: readonly FacetLocation[] = ['RunFacet', 'JobFacet', 'DatasetFacet', 'InputDatasetFacet', 'OutputDatasetFacet'];

export interface LineageValidationError {
  /** JSON Pointer into the event ('' is the event itself). */
  readonly path: string;
  /** The absolute schema location that failed: `<schema $id>#/<pointer>`. */
  readonly schemaPath: string;
  readonly message: string;
}

export type LineageValidationResult =
  | { readonly ok: true; readonly kind: LineageEventKind; readonly version: string }
  | { readonly ok: false; readonly errors: LineageValidationError[] };

export type FacetDocumentResult = { readonly ok: true } | { readonly ok: false; readonly errors: LineageValidationError[] };

export interface LineageValidatorOptions {
  /** Folder holding the published schemas laid out like `https://openlineage.io/spec/...`. */
  readonly schemaDir?: string;
}

export interface LineageValidator {
  /**
   * Validates one event. The kind comes from its shape (`dataset` → DatasetEvent, `run` → RunEvent,
   * else JobEvent); the core schema is the version its `schemaURL` names when that version is
   * published and defines the kind, else `CURRENT_CORE_VERSION` (`version` says which was used).
   * Standard facets are also validated against their facet schema (see `facetSchemaFor`); facets
   * with unknown keys are kept and checked only against the core's base facet, never rejected
   * for being unknown.
   */
  validate(event: unknown): LineageValidationResult;
  /** Validates a bare facet document `{ <facetKey>: {...} }` against the top level of a facet
   * schema file, named by its `$id` (e.g. `https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json`). */
  validateFacetDocument(schemaId: string, document: unknown): FacetDocumentResult;
  /** `$id` of the newest published version of a facet schema file, by file name without `.json`
   * (`ColumnLineageDatasetFacet`), or undefined when none is published. */
  currentFacetSchemaId(facetName: string): string | undefined;
  /** The schema reference a facet is validated against (`<$id>#/$defs/<Name>`), or undefined for
   * a facet cordon does not know: the one its `_schemaURL` names when that schema is published
   * and is a specific facet, else the newest published facet with this key at this location. */
  facetSchemaFor(location: FacetLocation, key: string, schemaURL: unknown): string | undefined;
}

interface SchemaDoc {
  readonly $id: string;
  readonly $defs?: Record<string, unknown>;
  readonly definitions?: Record<string, unknown>;
  readonly properties?: Record<string, unknown>;
  readonly [k: string]: unknown;
}

interface CoreSchema {
  readonly version: string;
  readonly id: string;
  /** `$defs` (1-0-2 and later) or `definitions` (1-0-0, 1-0-1). */
  readonly defsKey: '$defs' | 'definitions';
  readonly defs: Record<string, unknown>;
}

interface FacetFile {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly doc: SchemaDoc;
  /** def name → location, for every def that extends one of the core's base facets. */
  readonly facetDefs: Map<string, FacetLocation>;
  /** top-level property key → the defs it refers to (directly or through anyOf/oneOf). */
  readonly keys: Map<string, string[]>;
}

const CORE_ID_RE = /^https:\/\/openlineage\.io\/spec\/(\d+-\d+-\d+)\/OpenLineage\.json$/;
const FACET_ID_RE = /^https:\/\/openlineage\.io\/spec\/facets\/(\d+-\d+-\d+)\/([A-Za-z0-9_]+)\.json$/;
const BASE_FACET_REF_RE = /OpenLineage\.json#\/(?:\$defs|definitions)\/(RunFacet|JobFacet|DatasetFacet|InputDatasetFacet|OutputDatasetFacet)$/;
/** Core defs that are generic facet bases, not a specific facet: naming one says nothing about the facet. */
const GENERIC_FACET_DEFS = new Set(['BaseFacet', 'CustomFacet', ...FACET_LOCATIONS]);

// ajv and ajv-formats are CommonJS; under NodeNext their default import is module.exports, whose
// `default` is the export itself.
const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

function compareVersions(a: string, b: string): number {
  const pa = a.split('-').map(Number);
  const pb = b.split('-').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function listJsonFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listJsonFiles(p));
    else if (entry.name.endsWith('.json')) out.push(p);
  }
  return out.sort();
}

/** Every `$ref` string in a schema document. */
function collectRefs(node: unknown, out: string[]): string[] {
  if (Array.isArray(node)) for (const item of node) collectRefs(item, out);
  else if (isRecord(node)) {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else collectRefs(v, out);
    }
  }
  return out;
}

function analyseFacetFile(doc: SchemaDoc, version: string, name: string): FacetFile {
  const facetDefs = new Map<string, FacetLocation>();
  for (const [defName, def] of Object.entries(doc.$defs ?? {})) {
    if (!isRecord(def) || !Array.isArray(def.allOf)) continue;
    for (const part of def.allOf) {
      const m = isRecord(part) && typeof part.$ref === 'string' ? BASE_FACET_REF_RE.exec(part.$ref) : null;
      if (m) facetDefs.set(defName, m[1] as FacetLocation);
    }
  }
  const keys = new Map<string, string[]>();
  for (const [key, prop] of Object.entries(doc.properties ?? {})) {
    const refs = collectRefs(prop, [])
      .filter((r) => r.startsWith('#/$defs/'))
      .map((r) => r.slice('#/$defs/'.length));
    keys.set(key, refs);
  }
  return { id: doc.$id, name, version, doc, facetDefs, keys };
}

/** Maps every subschema object of a document to its absolute location `<$id>#<pointer>`, so an
 * error's schema path can be given absolutely: ajv's own `schemaPath` is relative to whichever
 * compiled unit a `$ref` led into, and does not say which. */
function indexLocations(node: unknown, location: string, into: WeakMap<object, string>): void {
  if (typeof node !== 'object' || node === null || into.has(node)) return;
  into.set(node, location);
  if (Array.isArray(node)) for (const [i, item] of node.entries()) indexLocations(item, `${location}/${i}`, into);
  else for (const [k, v] of Object.entries(node)) indexLocations(v, `${location}/${escapePointer(k)}`, into);
}

function toErrors(
  errors: readonly ErrorObject[] | null | undefined,
  schemaRef: string,
  pathPrefix: string,
  locations: WeakMap<object, string>,
): LineageValidationError[] {
  const base = schemaRef.includes('#') ? schemaRef : `${schemaRef}#`;
  return (errors ?? []).map((e) => {
    const path = pathPrefix + e.instancePath;
    const parent = isRecord(e.parentSchema) ? locations.get(e.parentSchema) : undefined;
    const schemaPath = parent !== undefined ? `${parent}/${e.keyword}` : e.schemaPath.startsWith('#') ? base + e.schemaPath.slice(1) : e.schemaPath;
    let detail = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties' && isRecord(e.params)) detail += ` '${String(e.params.additionalProperty)}'`;
    else if (e.keyword === 'enum' && isRecord(e.params) && Array.isArray(e.params.allowedValues)) detail += `: ${e.params.allowedValues.join(', ')}`;
    return { path, schemaPath, message: `${path === '' ? 'event' : path} ${detail}` };
  });
}

function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Creates a validator over the published OpenLineage schemas. Loading reads and registers every
 * schema file once (tens of milliseconds); each schema an event needs is compiled on first use and
 * cached, so create one validator per process and share it.
 *
 * eventTime without a timezone (`2021-11-03T10:53:52.427343`, which the Python client and Marquez
 * emit) is REJECTED: the schema says `format: date-time` (RFC 3339, offset required), and a time
 * without an offset is ambiguous by hours, which matters when a flow is placed in time. Strict
 * mode also keeps cordon's verdicts equal to the conformance results (VALIDATION_RESULTS.tsv).
 */
export function createLineageValidator(options: LineageValidatorOptions = {}): LineageValidator {
  const schemaDir = options.schemaDir ?? DEFAULT_OPENLINEAGE_SCHEMA_DIR;
  const ajv = new Ajv2020({
    strictSchema: true,
    // The published schemas use `required` inside `not` for names defined elsewhere, and leave
    // types implicit in allOf branches: valid JSON Schema that ajv's extra strictness would refuse.
    strictRequired: false,
    strictTypes: false,
    strictTuples: false,
    allErrors: false,
    validateFormats: true,
    // Keeps each error's parentSchema, from which its absolute schema path is found.
    verbose: true,
  });
  addFormats(ajv);
  // `format: uri` is checked as a URI reference (RFC 3986 4.1): producers put bare names in
  // dataSource.uri and sourceCodeLocation.url ("bigquery", "file", "data.txt"), and the
  // conformance results count those events valid. date-time and uuid stay strict.
  const uriReference = ajv.formats['uri-reference'];
  if (!uriReference) throw new Error('ajv-formats did not register uri-reference');
  ajv.addFormat('uri', uriReference);
  // Annotations the published schemas use beyond JSON Schema's own; they assert nothing.
  ajv.addVocabulary(['example', 'documentation']);

  const docs = new Map<string, SchemaDoc>();
  const locations = new WeakMap<object, string>();
  const cores = new Map<string, CoreSchema>();
  const facetFiles = new Map<string, FacetFile>();
  for (const file of listJsonFiles(schemaDir)) {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as SchemaDoc;
    const rel = file.slice(schemaDir.length).split(/[\\/]/).filter(Boolean).join('/');
    if (doc.$id !== SPEC_URL_PREFIX + rel) {
      throw new Error(`OpenLineage schema ${file}: $id ${String(doc.$id)} does not match its path ${rel}`);
    }
    docs.set(doc.$id, doc);
    ajv.addSchema(doc);
    const core = CORE_ID_RE.exec(doc.$id);
    const facet = FACET_ID_RE.exec(doc.$id);
    if (core) {
      const defsKey = doc.$defs ? '$defs' : 'definitions';
      cores.set(core[1]!, { version: core[1]!, id: doc.$id, defsKey, defs: (doc.$defs ?? doc.definitions ?? {}) as Record<string, unknown> });
    } else if (facet) {
      facetFiles.set(doc.$id, analyseFacetFile(doc, facet[1]!, facet[2]!));
    }
  }
  if (!cores.has(CURRENT_CORE_VERSION)) throw new Error(`OpenLineage schema ${CURRENT_CORE_VERSION} is missing from ${schemaDir}`);

  const versionsByName = new Map<string, FacetFile[]>();
  for (const f of facetFiles.values()) {
    const list = versionsByName.get(f.name) ?? [];
    list.push(f);
    versionsByName.set(f.name, list);
  }
  for (const list of versionsByName.values()) list.sort((a, b) => compareVersions(a.version, b.version));

  // Core versions 1-0-4 … 2-0-1 refer to facets by a relative `facets/X.json`, which resolves to
  // `spec/<core>/facets/X.json`: never published (facets live at `spec/facets/<version>/X.json`).
  // Alias each to the newest version of X whose base facets come from a core no newer than the one
  // referring to it, i.e. the facet as it stood when that core version was published.
  for (const doc of [...docs.values()]) {
    for (const ref of collectRefs(doc, [])) {
      if (ref.startsWith('#') || /^[a-z]+:/i.test(ref)) continue;
      const target = new URL(ref, doc.$id).href;
      if (docs.has(target)) continue;
      const name = /\/facets\/([A-Za-z0-9_]+)\.json$/.exec(target)?.[1];
      const fromCore = CORE_ID_RE.exec(doc.$id)?.[1];
      const candidates = name ? versionsByName.get(name) : undefined;
      if (!candidates || !fromCore) throw new Error(`OpenLineage schema ${doc.$id}: cannot resolve $ref ${ref}`);
      const fitting = candidates.filter((c) => {
        const used = collectRefs(c.doc, [])
          .map((r) => /\/spec\/(\d+-\d+-\d+)\/OpenLineage\.json/.exec(r)?.[1])
          .filter((v): v is string => v !== undefined);
        return used.every((v) => compareVersions(v, fromCore) <= 0);
      });
      const chosen = fitting[fitting.length - 1] ?? candidates[0]!;
      const alias: SchemaDoc = { $id: target, $ref: chosen.id };
      docs.set(target, alias);
      ajv.addSchema(alias);
    }
  }

  for (const doc of docs.values()) indexLocations(doc, `${doc.$id}#`, locations);

  // The current facet for each (location, key): from the newest version of each facet file.
  const current = new Map<FacetLocation, Map<string, string>>();
  for (const loc of FACET_LOCATIONS) current.set(loc, new Map());
  for (const [, versions] of [...versionsByName.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const newest = versions[versions.length - 1]!;
    for (const [defName, loc] of newest.facetDefs) {
      const keysReferring = [...newest.keys].filter(([, defs]) => defs.includes(defName)).map(([k]) => k);
      const keys = keysReferring.length > 0 ? keysReferring : newest.keys.size === 1 ? [...newest.keys.keys()] : [];
      for (const key of keys) {
        const byKey = current.get(loc)!;
        if (!byKey.has(key)) byKey.set(key, `${newest.id}#/$defs/${defName}`);
      }
    }
  }

  const compiled = new Map<string, ValidateFunction>();
  function compiledFor(ref: string): ValidateFunction {
    let fn = compiled.get(ref);
    if (!fn) {
      fn = ajv.getSchema(ref);
      if (!fn) throw new Error(`OpenLineage schema ${ref} is not loaded`);
      compiled.set(ref, fn);
    }
    return fn;
  }

  function facetSchemaFor(location: FacetLocation, key: string, schemaURL: unknown): string | undefined {
    if (typeof schemaURL === 'string') {
      const hash = schemaURL.indexOf('#');
      const base = hash < 0 ? schemaURL : schemaURL.slice(0, hash);
      const fragment = hash < 0 ? '' : schemaURL.slice(hash + 1);
      const file = facetFiles.get(base);
      if (file) {
        const named = /^\/\$defs\/([A-Za-z0-9_]+)$/.exec(fragment)?.[1];
        if (named && file.facetDefs.has(named)) return `${file.id}#/$defs/${named}`;
        if (!named || !file.doc.$defs?.[named]) {
          const defs = file.keys.get(key) ?? (file.keys.size === 1 ? [...file.keys.values()][0] : undefined) ?? [];
          const facetDefs = defs.filter((d) => file.facetDefs.has(d));
          const atLocation = facetDefs.find((d) => file.facetDefs.get(d) === location) ?? facetDefs[0];
          if (atLocation) return `${file.id}#/$defs/${atLocation}`;
        }
      }
      const coreVersion = CORE_ID_RE.exec(base)?.[1];
      const core = coreVersion ? cores.get(coreVersion) : undefined;
      const defName = core ? new RegExp(`^/${core.defsKey === '$defs' ? '\\$defs' : 'definitions'}/([A-Za-z0-9_]+)$`).exec(fragment)?.[1] : undefined;
      if (core && defName && core.defs[defName] && !GENERIC_FACET_DEFS.has(defName)) return `${core.id}#/${core.defsKey}/${defName}`;
    }
    return current.get(location)?.get(key);
  }

  function validateFacets(container: unknown, location: FacetLocation, pointer: string, errors: LineageValidationError[]): void {
    if (!isRecord(container)) return;
    for (const [key, facet] of Object.entries(container)) {
      // A facet sent as `{_deleted: true}` removes an earlier one; it carries no body to check.
      if (!isRecord(facet) || facet._deleted === true) continue;
      const ref = facetSchemaFor(location, key, facet._schemaURL);
      if (!ref) continue;
      const fn = compiledFor(ref);
      if (!fn(facet)) errors.push(...toErrors(fn.errors, ref, `${pointer}/${escapePointer(key)}`, locations));
    }
  }

  function validateDatasets(
    list: unknown,
    pointer: string,
    extra: 'inputFacets' | 'outputFacets',
    location: FacetLocation,
    errors: LineageValidationError[],
  ): void {
    if (!Array.isArray(list)) return;
    list.forEach((d, i) => {
      if (!isRecord(d)) return;
      validateFacets(d.facets, 'DatasetFacet', `${pointer}/${i}/facets`, errors);
      validateFacets(d[extra], location, `${pointer}/${i}/${extra}`, errors);
    });
  }

  function validate(event: unknown): LineageValidationResult {
    if (!isRecord(event)) {
      return {
        ok: false,
        errors: [
          { path: '', schemaPath: `${SPEC_URL_PREFIX}${CURRENT_CORE_VERSION}/OpenLineage.json#/$defs/BaseEvent/type`, message: 'event must be a JSON object' },
        ],
      };
    }
    const kind: LineageEventKind = 'dataset' in event ? 'DatasetEvent' : 'run' in event ? 'RunEvent' : 'JobEvent';
    let core = cores.get(CURRENT_CORE_VERSION)!;
    if (typeof event.schemaURL === 'string') {
      const named = CORE_ID_RE.exec(event.schemaURL.split('#')[0]!)?.[1];
      const namedCore = named ? cores.get(named) : undefined;
      if (namedCore?.defs[kind]) core = namedCore;
    }
    const ref = `${core.id}#/${core.defsKey}/${kind}`;
    const fn = compiledFor(ref);
    const errors: LineageValidationError[] = [];
    if (!fn(event)) errors.push(...toErrors(fn.errors, ref, '', locations));
    if (isRecord(event.run)) validateFacets(event.run.facets, 'RunFacet', '/run/facets', errors);
    if (isRecord(event.job)) validateFacets(event.job.facets, 'JobFacet', '/job/facets', errors);
    validateDatasets(event.inputs, '/inputs', 'inputFacets', 'InputDatasetFacet', errors);
    validateDatasets(event.outputs, '/outputs', 'outputFacets', 'OutputDatasetFacet', errors);
    if (isRecord(event.dataset)) validateFacets(event.dataset.facets, 'DatasetFacet', '/dataset/facets', errors);
    return errors.length === 0 ? { ok: true, kind, version: core.version } : { ok: false, errors };
  }

  function validateFacetDocument(schemaId: string, document: unknown): FacetDocumentResult {
    if (!facetFiles.has(schemaId)) throw new Error(`no published facet schema ${schemaId}`);
    const fn = compiledFor(schemaId);
    return fn(document) ? { ok: true } : { ok: false, errors: toErrors(fn.errors, schemaId, '', locations) };
  }

  function currentFacetSchemaId(facetName: string): string | undefined {
    const versions = versionsByName.get(facetName);
    return versions?.[versions.length - 1]?.id;
  }

  return { validate, validateFacetDocument, currentFacetSchemaId, facetSchemaFor };
}
