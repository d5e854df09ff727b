// catalog/*.yaml: datasets, their key, whose data they hold, and each field's category (which may
// depend on the row's values).

import { FIELD_TYPES, type CatalogField, type CategoryCondition, type Dataset, type FieldType, type SourcePos, type Taxonomy } from './model.js';
import { type IssueList, type YamlFile, isScalar, isSeq, readList, readMap, readString, readStringList, type Node } from './yaml-source.js';
import { didYouMean } from '../shared/suggest.js';

interface RawRef {
  value: string;
  pos: SourcePos;
}
interface RawCondition {
  field: RawRef;
  values: string[];
  negate: boolean;
  category: RawRef;
}
interface RawField {
  name: string;
  category: RawRef;
  conditions: RawCondition[];
  type: FieldType;
  pos: SourcePos;
}
export interface RawDataset {
  name: string;
  namePos: SourcePos;
  filePos: SourcePos;
  file: string;
  key: RawRef | undefined;
  subjectField: RawRef | undefined;
  subjectDataset: RawRef | undefined;
  jurisdictionField: RawRef | undefined;
  fields: Map<string, RawField>;
}

function ref(f: YamlFile, node: Node | null, issues: IssueList, what: string): RawRef | undefined {
  const value = readString(f, node, issues, what);
  return value === undefined ? undefined : { value, pos: f.pos(node) };
}

function readCondition(f: YamlFile, node: Node | null, issues: IssueList, what: string, negate: boolean): RawCondition | undefined {
  const spec = readMap(f, node, issues, what, { required: ['field', 'category'], optional: ['equals', 'in'] });
  if (!spec) return undefined;
  const field = ref(f, spec.get('field')?.value ?? null, issues, `field of ${what}`);
  const category = ref(f, spec.get('category')?.value ?? null, issues, `category of ${what}`);
  let values: string[] | undefined;
  const eq = spec.get('equals');
  const inn = spec.get('in');
  if ((eq && inn) || (!eq && !inn)) {
    issues.error(f.pos(node), 'policy.invalid_value', `${what} needs exactly one of equals or in`);
  } else if (eq) {
    if (isScalar(eq.value) && ['string', 'number', 'boolean'].includes(typeof eq.value.value)) values = [String(eq.value.value)];
    else issues.error(f.pos(eq.value), 'policy.invalid_value', `equals of ${what} must be a string, number or boolean`);
  } else if (inn) {
    values = readStringList(f, inn.value, issues, `in of ${what}`)?.map((v) => v.value);
  }
  if (!field || !category || !values) return undefined;
  return { field, values, negate, category };
}

export function readDatasetFile(f: YamlFile, issues: IssueList): RawDataset | undefined {
  if (!f.ok) return undefined;
  const top = readMap(f, f.root, issues, 'a catalog file', {
    required: ['dataset', 'key', 'fields'],
    optional: ['subject', 'jurisdiction', 'description'],
  });
  if (!top) return undefined;
  const nameEntry = top.get('dataset');
  const name = nameEntry ? readString(f, nameEntry.value, issues, 'dataset') : undefined;
  if (name === undefined) return undefined;
  const ds: RawDataset = {
    name,
    namePos: f.pos(nameEntry!.value),
    filePos: f.pos(f.root),
    file: f.path,
    key: top.has('key') ? ref(f, top.get('key')!.value, issues, 'key') : undefined,
    subjectField: undefined,
    subjectDataset: undefined,
    jurisdictionField: undefined,
    fields: new Map(),
  };
  const subject = top.get('subject');
  if (subject) {
    const spec = readMap(f, subject.value, issues, 'subject', { required: ['field'], optional: ['dataset'] });
    ds.subjectField = spec?.has('field') ? ref(f, spec.get('field')!.value, issues, 'subject.field') : undefined;
    ds.subjectDataset = spec?.has('dataset') ? ref(f, spec.get('dataset')!.value, issues, 'subject.dataset') : undefined;
  } else {
    issues.error(
      f.pos(f.root),
      'policy.missing_subject',
      `dataset ${name} has no subject: say which field names the data subject (subject: { field: …, dataset: … })`,
    );
  }
  const jur = top.get('jurisdiction');
  if (jur) {
    const spec = readMap(f, jur.value, issues, 'jurisdiction', { required: ['field'] });
    ds.jurisdictionField = spec?.has('field') ? ref(f, spec.get('field')!.value, issues, 'jurisdiction.field') : undefined;
  }
  const fieldsEntry = top.get('fields');
  for (const e of (fieldsEntry && readMap(f, fieldsEntry.value, issues, `fields of ${name}`)?.values()) ?? []) {
    const pos = f.pos(e.keyNode);
    if (isScalar(e.value)) {
      const category = ref(f, e.value, issues, `category of ${name}.${e.key}`);
      if (category) ds.fields.set(e.key, { name: e.key, category, conditions: [], type: 'string', pos });
      continue;
    }
    const spec = readMap(f, e.value, issues, `field ${name}.${e.key}`, { required: ['category'], optional: ['when', 'when_not', 'type', 'description'] });
    if (!spec) continue;
    const category = ref(f, spec.get('category')?.value ?? null, issues, `category of ${name}.${e.key}`);
    const conditions: RawCondition[] = [];
    const when = spec.get('when');
    if (when) {
      const items = isSeq(when.value) ? (readList(f, when.value, issues, 'when') ?? []) : [when.value];
      for (const item of items) {
        const c = readCondition(f, item, issues, `a when of ${name}.${e.key}`, false);
        if (c) conditions.push(c);
      }
    }
    const whenNot = spec.get('when_not');
    if (whenNot) {
      const c = readCondition(f, whenNot.value, issues, `when_not of ${name}.${e.key}`, true);
      if (c) conditions.push(c);
    }
    let type: FieldType = 'string';
    const typeEntry = spec.get('type');
    if (typeEntry) {
      const t = readString(f, typeEntry.value, issues, `type of ${name}.${e.key}`);
      if (t !== undefined && (FIELD_TYPES as readonly string[]).includes(t)) type = t as FieldType;
      else if (t !== undefined)
        issues.error(
          f.pos(typeEntry.value),
          'policy.invalid_value',
          `type of ${name}.${e.key} must be one of ${FIELD_TYPES.join(', ')}, not ${JSON.stringify(t)}`,
        );
    }
    if (category) ds.fields.set(e.key, { name: e.key, category, conditions, type, pos });
  }
  return ds;
}

/** Cross-checks datasets against each other and the taxonomy. Returns undefined on any error. */
export function resolveCatalog(raws: RawDataset[], taxonomy: Taxonomy, issues: IssueList): Map<string, Dataset> | undefined {
  const before = issues.errorCount;
  const byName = new Map<string, RawDataset>();
  for (const d of raws) {
    const other = byName.get(d.name);
    if (other) issues.error(d.namePos, 'policy.duplicate_key', `dataset ${d.name} is also defined in ${other.file}`);
    else byName.set(d.name, d);
  }
  const checkCategory = (r: RawRef): string | undefined => {
    const c = taxonomy.resolve(r.value);
    if (!c) {
      issues.error(r.pos, 'policy.unknown_category', `unknown category ${JSON.stringify(r.value)}${didYouMean(r.value, taxonomy.categories.keys())}`);
      return undefined;
    }
    return c.key;
  };
  const checkField = (d: RawDataset, r: RawRef | undefined, what: string): void => {
    if (r && !d.fields.has(r.value)) {
      issues.error(r.pos, 'policy.unknown_field', `${what} ${JSON.stringify(r.value)} is not a field of ${d.name}${didYouMean(r.value, d.fields.keys())}`);
    }
  };
  const out = new Map<string, Dataset>();
  for (const d of byName.values()) {
    checkField(d, d.key, 'key');
    checkField(d, d.subjectField, 'subject field');
    checkField(d, d.jurisdictionField, 'jurisdiction field');
    if (d.subjectDataset) {
      const target = byName.get(d.subjectDataset.value);
      if (!target) {
        issues.error(
          d.subjectDataset.pos,
          'policy.unknown_dataset',
          `unknown dataset ${JSON.stringify(d.subjectDataset.value)}${didYouMean(d.subjectDataset.value, byName.keys())}`,
        );
      } else if (!target.jurisdictionField) {
        issues.error(
          d.subjectDataset.pos,
          'policy.missing_subject',
          `dataset ${target.name} has no jurisdiction field, so ${d.name} cannot learn its subjects' jurisdiction from it`,
        );
      }
    } else if (d.subjectField && !d.jurisdictionField) {
      issues.error(
        d.subjectField.pos,
        'policy.missing_subject',
        `dataset ${d.name} must say where its subject's jurisdiction comes from: jurisdiction: { field: … } or subject.dataset`,
      );
    }
    const fields = new Map<string, CatalogField>();
    for (const fld of d.fields.values()) {
      const category = checkCategory(fld.category);
      const conditions: CategoryCondition[] = [];
      for (const c of fld.conditions) {
        checkField(d, c.field, 'condition on field');
        if (c.field.value === fld.name)
          issues.error(c.field.pos, 'policy.invalid_value', `the category of ${d.name}.${fld.name} cannot depend on the field itself`);
        const cc = checkCategory(c.category);
        if (cc) conditions.push({ field: c.field.value, values: c.values, negate: c.negate, category: cc });
      }
      if (category) fields.set(fld.name, { name: fld.name, category, conditions, type: fld.type, pos: fld.pos });
    }
    // Key, subject, jurisdiction and row-condition fields hold strings: writes are refused otherwise.
    const structural = new Set([
      d.key?.value,
      d.subjectField?.value,
      d.jurisdictionField?.value,
      ...[...d.fields.values()].flatMap((x) => x.conditions.map((c) => c.field.value)),
    ]);
    for (const fld of d.fields.values())
      if (fld.type !== 'string' && structural.has(fld.name))
        issues.error(
          fld.pos,
          'policy.invalid_value',
          `${d.name}.${fld.name} is a key, subject, jurisdiction or condition field: its type is string, not ${fld.type}`,
        );
    if (d.key && d.subjectField) {
      out.set(d.name, {
        name: d.name,
        key: d.key.value,
        subjectField: d.subjectField.value,
        subjectDataset: d.subjectDataset?.value,
        jurisdictionField: d.jurisdictionField?.value,
        fields,
        file: d.file,
      });
    }
  }
  return issues.errorCount > before ? undefined : out;
}

/** The field's category for this row: the first condition that holds, else its default; undefined when a condition's field is missing. */
export function categoryForRow(f: CatalogField, row: Readonly<Record<string, unknown>>): string | undefined {
  for (const c of f.conditions) {
    const v = row[c.field];
    if (v === undefined || v === null) return undefined;
    if (c.values.includes(String(v)) !== c.negate) return c.category;
  }
  return f.category;
}
