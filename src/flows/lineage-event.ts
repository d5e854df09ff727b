// Reading an OpenLineage event that the validator (openlineage.ts) accepted into the fields the flow
// map uses: datasets with their fields, tags, column lineage and owners, and the job and run.
import { DATASET_WIDE_FIELD, isRecord, type LineageEventKind } from './openlineage.js';

export interface LineageField {
  readonly name: string;
  readonly type?: string;
  /** Tag labels: `key:value` (just `key` when the value is empty), from the field's own `tags`
   * in the schema facet and from `tags` dataset-facet entries that name this field. */
  readonly tags: string[];
}

export interface ColumnTransformation {
  /** Anything other than INDIRECT is read as DIRECT: the stronger flow, so never under-reported. */
  readonly type: 'DIRECT' | 'INDIRECT';
  readonly subtype?: string;
  readonly masking: boolean;
}

export interface ColumnLineageInput {
  readonly namespace: string;
  readonly name: string;
  readonly field: string;
  /** Empty when the producer gave none (the relation is then known, its nature not). */
  readonly transformations: ColumnTransformation[];
}

export interface ColumnLineageEntry {
  /** The output field, or `DATASET_WIDE_FIELD` for the facet's dataset-level list. */
  readonly field: string;
  readonly inputs: ColumnLineageInput[];
}

export interface LineageDataset {
  readonly namespace: string;
  readonly name: string;
  /** The schema facet's fields (nested struct fields flattened as `parent.child`), then fields
   * that only a `tags` facet entry names. */
  readonly fields: LineageField[];
  /** May name datasets and fields that the event does not declare: dangling references are kept. */
  readonly columnLineage: ColumnLineageEntry[];
  /** Owner names from the ownership facet; undefined when the dataset has none. */
  readonly ownership?: string[];
  /** Dataset-level tags (tags facet entries without a `field`). */
  readonly datasetTags: string[];
}

export interface ParsedLineageEvent {
  readonly kind: LineageEventKind;
  readonly eventType?: string;
  readonly eventTime: string;
  readonly runId?: string;
  readonly job?: { readonly namespace: string; readonly name: string };
  /** The event's `producer` URI. */
  readonly producer?: string;
  /** Owner names of the job's `ownership` facet (Airflow: the DAG's owners). */
  readonly jobOwners?: string[];
  /** The job's `documentation` facet description. */
  readonly jobDescription?: string;
  readonly inputs: LineageDataset[];
  readonly outputs: LineageDataset[];
  /** The dataset of a DatasetEvent. */
  readonly dataset?: LineageDataset;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A live facet: present, an object, and not a `_deleted` marker. */
function facetOf(facets: unknown, key: string): Record<string, unknown> | undefined {
  if (!isRecord(facets)) return undefined;
  const f = facets[key];
  return isRecord(f) && f._deleted !== true ? f : undefined;
}

function tagLabel(tag: unknown): string | undefined {
  if (typeof tag === 'string') return tag === '' ? undefined : tag;
  if (!isRecord(tag) || typeof tag.key !== 'string' || tag.key === '') return undefined;
  const value = typeof tag.value === 'string' ? tag.value : tag.value === undefined || tag.value === null ? '' : String(tag.value);
  return value === '' ? tag.key : `${tag.key}:${value}`;
}

function pushUnique(list: string[], value: string | undefined): void {
  if (value !== undefined && !list.includes(value)) list.push(value);
}

function parseTransformations(raw: unknown, legacyType: unknown, defaultType: 'DIRECT' | 'INDIRECT' | undefined): ColumnTransformation[] {
  if (Array.isArray(raw) && raw.length > 0) {
    return raw.filter(isRecord).map((t) => {
      const subtype = str(t.subtype);
      const type = typeof t.type === 'string' && t.type.toUpperCase() === 'INDIRECT' ? 'INDIRECT' : 'DIRECT';
      return subtype === undefined ? { type, masking: t.masking === true } : { type, subtype, masking: t.masking === true };
    });
  }
  // Facets before 1-1-0 described a whole output field with the now deprecated transformationType.
  if (legacyType === 'MASKED') return [{ type: 'DIRECT', masking: true }];
  if (legacyType === 'IDENTITY') return [{ type: 'DIRECT', subtype: 'IDENTITY', masking: false }];
  return defaultType ? [{ type: defaultType, masking: false }] : [];
}

function parseInputFields(list: unknown, legacyType: unknown, defaultType: 'DIRECT' | 'INDIRECT' | undefined): ColumnLineageInput[] {
  if (!Array.isArray(list)) return [];
  const out: ColumnLineageInput[] = [];
  for (const input of list) {
    if (!isRecord(input)) continue;
    const namespace = str(input.namespace);
    const name = str(input.name);
    const field = str(input.field);
    if (namespace === undefined || name === undefined || field === undefined) continue;
    out.push({ namespace, name, field, transformations: parseTransformations(input.transformations, legacyType, defaultType) });
  }
  return out;
}

function parseDataset(raw: unknown, where: string): LineageDataset {
  if (!isRecord(raw) || typeof raw.namespace !== 'string' || typeof raw.name !== 'string') {
    throw new TypeError(`${where}: a dataset needs a string namespace and name`);
  }
  const facets = raw.facets;
  const fields: { name: string; type?: string; tags: string[] }[] = [];
  const byName = new Map<string, { name: string; type?: string; tags: string[] }>();
  const addField = (name: string, type: string | undefined): { name: string; type?: string; tags: string[] } => {
    let f = byName.get(name);
    if (!f) {
      f = type === undefined ? { name, tags: [] } : { name, type, tags: [] };
      byName.set(name, f);
      fields.push(f);
    }
    return f;
  };
  const addSchemaFields = (list: unknown, prefix: string): void => {
    if (!Array.isArray(list)) return;
    for (const item of list) {
      if (!isRecord(item) || typeof item.name !== 'string') continue;
      const f = addField(prefix + item.name, str(item.type));
      if (Array.isArray(item.tags)) for (const t of item.tags) pushUnique(f.tags, tagLabel(t));
      addSchemaFields(item.fields, `${prefix}${item.name}.`);
    }
  };
  addSchemaFields(facetOf(facets, 'schema')?.fields, '');

  const datasetTags: string[] = [];
  const tagsFacet = facetOf(facets, 'tags');
  if (Array.isArray(tagsFacet?.tags)) {
    for (const tag of tagsFacet.tags) {
      const field = isRecord(tag) ? str(tag.field) : undefined;
      if (field) pushUnique(addField(field, undefined).tags, tagLabel(tag));
      else pushUnique(datasetTags, tagLabel(tag));
    }
  }

  const columnLineage: ColumnLineageEntry[] = [];
  const cll = facetOf(facets, 'columnLineage');
  if (cll && isRecord(cll.fields)) {
    for (const [field, entry] of Object.entries(cll.fields)) {
      if (!isRecord(entry)) continue;
      columnLineage.push({ field, inputs: parseInputFields(entry.inputFields, entry.transformationType, undefined) });
    }
  }
  if (cll && Array.isArray(cll.dataset) && cll.dataset.length > 0) {
    columnLineage.push({ field: DATASET_WIDE_FIELD, inputs: parseInputFields(cll.dataset, undefined, 'INDIRECT') });
  }

  const ownershipFacet = facetOf(facets, 'ownership');
  const base = { namespace: raw.namespace, name: raw.name, fields, columnLineage, datasetTags };
  if (!ownershipFacet) return base;
  const owners = Array.isArray(ownershipFacet.owners) ? ownershipFacet.owners : [];
  const ownership: string[] = [];
  for (const o of owners) if (isRecord(o)) pushUnique(ownership, str(o.name));
  return { ...base, ownership };
}

/**
 * Parses an event into the view the flow graph needs. The caller MUST validate it first
 * (`createLineageValidator().validate`): parsing reads defensively and skips malformed facet
 * entries, but throws a TypeError when the event is not an object, has no string eventTime, or a
 * job or dataset lacks a string namespace and name. Column-lineage inputs that name datasets or
 * fields the event does not declare are kept as given.
 */
export function parseLineageEvent(event: unknown): ParsedLineageEvent {
  if (!isRecord(event)) throw new TypeError('an OpenLineage event must be a JSON object');
  if (typeof event.eventTime !== 'string') throw new TypeError('an OpenLineage event needs a string eventTime');
  const kind: LineageEventKind = 'dataset' in event ? 'DatasetEvent' : 'run' in event ? 'RunEvent' : 'JobEvent';
  let job: { namespace: string; name: string } | undefined;
  if (event.job !== undefined) {
    if (!isRecord(event.job) || typeof event.job.namespace !== 'string' || typeof event.job.name !== 'string') {
      throw new TypeError('job: a job needs a string namespace and name');
    }
    job = { namespace: event.job.namespace, name: event.job.name };
  }
  const list = (value: unknown, where: string): LineageDataset[] => (Array.isArray(value) ? value.map((d, i) => parseDataset(d, `${where}/${i}`)) : []);
  const parsed: {
    kind: LineageEventKind;
    eventType?: string;
    eventTime: string;
    runId?: string;
    job?: { namespace: string; name: string };
    producer?: string;
    jobOwners?: string[];
    jobDescription?: string;
    inputs: LineageDataset[];
    outputs: LineageDataset[];
    dataset?: LineageDataset;
  } = { kind, eventTime: event.eventTime, inputs: list(event.inputs, 'inputs'), outputs: list(event.outputs, 'outputs') };
  const eventType = str(event.eventType);
  if (eventType !== undefined) parsed.eventType = eventType;
  const runId = isRecord(event.run) ? str(event.run.runId) : undefined;
  if (runId !== undefined) parsed.runId = runId;
  if (job) parsed.job = job;
  const producer = str(event.producer);
  if (producer !== undefined) parsed.producer = producer;
  const jobFacets = isRecord(event.job) ? event.job.facets : undefined;
  const ownership = facetOf(jobFacets, 'ownership');
  if (ownership) {
    const owners: string[] = [];
    for (const o of Array.isArray(ownership.owners) ? ownership.owners : []) if (isRecord(o)) pushUnique(owners, str(o.name)?.trim() || undefined);
    if (owners.length > 0) parsed.jobOwners = owners;
  }
  const description = str(facetOf(jobFacets, 'documentation')?.description)?.trim();
  if (description) parsed.jobDescription = description;
  if (kind === 'DatasetEvent') parsed.dataset = parseDataset(event.dataset, 'dataset');
  return parsed;
}
