// OpenLineage validation against the conformance corpus (every example event and facet test, with
// the expected verdicts of VALIDATION_RESULTS.tsv) and parsing of Marquez's food-delivery seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLineageEvent, type ParsedLineageEvent } from './lineage-event.js';
import { createLineageValidator, DATASET_WIDE_FIELD, type FacetDocumentResult, type LineageValidationResult } from './openlineage.js';

/** test/fixtures of the repository (tests run compiled, from <outDir>/src/flows). */
const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));

const OL = join(FIXTURES, 'openlineage');
const SEED = 'examples/marquez/docker/metadata.template.json';
const validator = createLineageValidator();

function readJson(rel: string): unknown {
  return JSON.parse(readFileSync(join(OL, rel), 'utf8'));
}

function readTsv(rel: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(join(OL, rel), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const cols = header!.split('\t');
  return lines.map((line) => {
    const cells = line.split('\t');
    return Object.fromEntries(cols.map((c, i) => [c, cells[i] ?? '']));
  });
}

/** The seed's events with its placeholders replaced as the conformance README says:
 * start 2024-01-01T00:00:00.000Z, end N minutes later. */
function seedEvents(): unknown[] {
  const text = readFileSync(join(OL, SEED), 'utf8')
    .replaceAll('{{RUN_START_TIME}}', '2024-01-01T00:00:00.000Z')
    .replace(/\{\{RUN_END_TIME_AFTER_(\d+)_MINUTES\}\}/g, (_m, n: string) => `2024-01-01T00:${n.padStart(2, '0')}:00.000Z`);
  assert.doesNotMatch(text, /\{\{/);
  return JSON.parse(text) as unknown[];
}

/** A TSV row's path names a file, or an element of the seed: `<seed>(placeholders-substituted)#[i]`. */
function eventOf(path: string, seed: unknown[]): unknown {
  const m = /^(.*)\(placeholders-substituted\)#\[(\d+)\]$/.exec(path);
  if (m) {
    assert.equal(m[1], SEED);
    return seed[Number(m[2])];
  }
  return readJson(path);
}

test('every example event and facet test gets the verdict of VALIDATION_RESULTS.tsv', () => {
  const rows = readTsv('VALIDATION_RESULTS.tsv');
  assert.equal(rows.length, 186);
  const seed = seedEvents();
  assert.equal(seed.length, 26);
  let valid = 0;
  let invalid = 0;
  let na = 0;
  const mismatches: string[] = [];
  for (const row of rows) {
    const path = row.path!;
    if (row.result === 'N/A') {
      // Not events: Marquez API responses and the spec harness's mixed facet catalogue.
      assert.match(row.first_errors!, /^not an/, `${path}: an N/A row must say why`);
      na++;
      continue;
    }
    let result: LineageValidationResult | FacetDocumentResult;
    if (row.validated_as === 'facet') {
      const facetName = /^spec\/tests\/([A-Za-z]+)\/[^/]+\.json$/.exec(path)?.[1];
      assert.ok(facetName, path);
      const id = validator.currentFacetSchemaId(facetName);
      assert.ok(id, `${path}: no published schema for ${facetName}`);
      result = validator.validateFacetDocument(id, readJson(path));
    } else {
      result = validator.validate(eventOf(path, seed));
      if (result.ok && 'kind' in result) assert.equal(result.kind, row.validated_as, path);
    }
    const expected = row.result === 'VALID';
    if (result.ok !== expected) {
      mismatches.push(`${path}: expected ${row.result}, got ${result.ok ? 'VALID' : `INVALID ${JSON.stringify(result.errors)}`}`);
      continue;
    }
    if (result.ok) valid++;
    else {
      assert.ok(result.errors.length > 0, path);
      for (const e of result.errors) {
        assert.match(e.schemaPath, /^https:\/\/openlineage\.io\/spec\/.+#\/.+/, `${path}: ${e.message}`);
        assert.ok(e.message.length > 0, path);
      }
      invalid++;
    }
  }
  assert.deepEqual(mismatches, []);
  assert.deepEqual({ valid, invalid, na }, { valid: 157, invalid: 26, na: 3 });
  console.log(`openlineage: ${valid} valid accepted, ${invalid} invalid rejected (with schema paths), ${na} n/a`);
});

test('invalid events name the instance path and the schema path that failed', () => {
  const cases: { note: string; file: string; errors: [path: string, schemaPath: string][] }[] = [
    {
      note: 'times without timezone fail format date-time (strict, as the schema), in the event (core 1-0-5, as its schemaURL names) and in a facet',
      file: 'examples/openlineage-repo/client/python/tests/serde_example_run_event.json',
      errors: [
        ['/eventTime', 'https://openlineage.io/spec/1-0-5/OpenLineage.json#/$defs/RunEvent/properties/eventTime/format'],
        [
          '/run/facets/nominalTime/nominalStartTime',
          'https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet/allOf/1/properties/nominalStartTime/format',
        ],
      ],
    },
    {
      note: 'missing schemaURL, reached through RunEvent → BaseEvent',
      file: 'examples/marquez/api/src/test/resources/open_lineage/event_without_schema_url.json',
      errors: [['', 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/BaseEvent/required']],
    },
    {
      note: 'runId that is not a uuid (core 1-0-5, as its schemaURL names)',
      file: 'examples/compatibility-tests/consumer/scenarios/simple_run_event/events/simple_run_event.json',
      errors: [['/run/runId', 'https://openlineage.io/spec/1-0-5/OpenLineage.json#/$defs/Run/properties/runId/format']],
    },
    {
      note: 'job ownership facet entry without name: rejected only by the facet schema',
      file: 'examples/openlineage-repo/proxy/fluentd/events/event_invalid_job_facet.json',
      errors: [
        [
          '/job/facets/ownership/owners/0',
          'https://openlineage.io/spec/facets/1-0-1/OwnershipJobFacet.json#/$defs/OwnershipJobFacet/allOf/1/properties/owners/items/required',
        ],
      ],
    },
    {
      note: 'dataQualityMetrics named by a core 1-0-1 _schemaURL: checked against that definition, which needs columnMetrics',
      file: 'examples/openlineage-repo/proxy/fluentd/events/event_full.json',
      errors: [
        [
          '/inputs/0/inputFacets/dataQualityMetrics',
          'https://openlineage.io/spec/1-0-1/OpenLineage.json#/definitions/DataQualityMetricsInputDatasetFacet/allOf/1/required',
        ],
      ],
    },
  ];
  for (const c of cases) {
    const r = validator.validate(readJson(c.file));
    assert.equal(r.ok, false, c.note);
    if (r.ok) continue;
    assert.deepEqual(
      r.errors.map((e) => [e.path, e.schemaPath]),
      c.errors,
      c.note,
    );
    for (const e of r.errors) assert.ok(e.message.startsWith(e.path === '' ? 'event ' : `${e.path} `), e.message);
  }
  const noTime = validator.validate(readJson('examples/marquez/api/src/test/resources/open_lineage/event_required_no_timezone.json'));
  assert.equal(noTime.ok, false);
  if (!noTime.ok) assert.equal(noTime.errors[0]!.message, '/eventTime must match format "date-time"');
});

test('events are validated against the core version their schemaURL names', () => {
  const base = readJson('examples/openlineage-repo/proxy/fluentd/events/event_simple.json') as Record<string, unknown>;
  const withUrl = (schemaURL: string | undefined): LineageValidationResult => {
    const e: Record<string, unknown> = { ...base };
    if (schemaURL === undefined) delete e.schemaURL;
    else e.schemaURL = schemaURL;
    return validator.validate(e);
  };
  assert.deepEqual(withUrl('https://openlineage.io/spec/1-0-1/OpenLineage.json#/definitions/RunEvent'), { ok: true, kind: 'RunEvent', version: '1-0-1' });
  assert.deepEqual(withUrl('https://openlineage.io/spec/1-0-5/OpenLineage.json#/$defs/RunEvent'), { ok: true, kind: 'RunEvent', version: '1-0-5' });
  assert.deepEqual(withUrl('https://openlineage.io/spec/2-8-9/OpenLineage.json#/$defs/RunEvent'), { ok: true, kind: 'RunEvent', version: '2-0-2' });
  const { run: _run, eventType: _eventType, ...jobEvent } = base;
  const job = validator.validate({ ...jobEvent, schemaURL: 'https://openlineage.io/spec/1-0-1/OpenLineage.json#/definitions/JobEvent' });
  assert.deepEqual(job, { ok: true, kind: 'JobEvent', version: '2-0-2' }, '1-0-1 defines no JobEvent: the current core is used');
  const missing = withUrl(undefined);
  assert.equal(missing.ok, false);
  if (!missing.ok)
    assert.deepEqual(
      missing.errors.map((e) => e.schemaPath),
      ['https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/BaseEvent/required'],
    );
});

test('unknown facets are kept, deleted facets are not checked against their schema', () => {
  const event = {
    eventTime: '2024-01-01T00:00:00Z',
    producer: 'https://example.com/producer',
    schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent',
    job: {
      namespace: 'ns',
      name: 'job',
      facets: {
        acme_export: { _producer: 'https://example.com/p', _schemaURL: 'https://example.com/AcmeFacet.json', anything: [1, 2] },
        ownership: { _producer: 'https://example.com/p', _schemaURL: 'https://openlineage.io/spec/facets/1-0-1/OwnershipJobFacet.json', _deleted: true },
      },
    },
  };
  assert.deepEqual(validator.validate(event), { ok: true, kind: 'JobEvent', version: '2-0-2' });
  assert.equal(validator.facetSchemaFor('JobFacet', 'acme_export', 'https://example.com/AcmeFacet.json'), undefined);
  assert.equal(
    validator.facetSchemaFor('InputDatasetFacet', 'dataQualityMetrics', 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/InputDatasetFacet'),
    'https://openlineage.io/spec/facets/1-0-3/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet',
  );
  assert.equal(
    validator.facetSchemaFor('DatasetFacet', 'dataQualityMetrics', undefined),
    'https://openlineage.io/spec/facets/1-0-0/DataQualityMetricsDatasetFacet.json#/$defs/DataQualityMetricsDatasetFacet',
  );
  assert.equal(
    validator.facetSchemaFor('DatasetFacet', 'schema', 'https://openlineage.io/spec/facets/1-0-0/SchemaDatasetFacet.json'),
    'https://openlineage.io/spec/facets/1-0-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet',
  );
  assert.equal(
    validator.facetSchemaFor(
      'OutputDatasetFacet',
      'subset',
      'https://openlineage.io/spec/facets/1-1-0/BaseSubsetDatasetFacet.json#/$defs/OutputSubsetDatasetFacet',
    ),
    'https://openlineage.io/spec/facets/1-0-0/BaseSubsetDatasetFacet.json#/$defs/OutputSubsetOutputDatasetFacet',
  );
});

test('malformed input is rejected with errors, never thrown', () => {
  for (const input of [
    null,
    42,
    'event',
    [],
    { run: 5 },
    { job: { facets: 'x' }, inputs: {}, outputs: [1, null] },
    { dataset: { facets: { schema: { _schemaURL: 7 } } } },
  ]) {
    const r = validator.validate(input);
    assert.equal(r.ok, false, JSON.stringify(input));
    if (!r.ok) assert.ok(r.errors.length > 0 && r.errors.every((e) => e.schemaPath.startsWith('https://openlineage.io/spec/')), JSON.stringify(r.errors));
  }
});

test('each spec/tests facet instance is valid against its current facet schema', () => {
  const dir = join(OL, 'spec/tests');
  let count = 0;
  for (const facet of readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()) {
    const id = validator.currentFacetSchemaId(facet);
    assert.ok(id, facet);
    for (const file of readdirSync(join(dir, facet)).filter((f) => f.endsWith('.json'))) {
      assert.deepEqual(validator.validateFacetDocument(id, readJson(`spec/tests/${facet}/${file}`)), { ok: true }, `${facet}/${file}`);
      count++;
    }
  }
  assert.equal(count, 46);
});

function parsedSeed(): ParsedLineageEvent[] {
  return seedEvents().map((e) => parseLineageEvent(e));
}

const ref = (d: { namespace: string; name: string }): string => `${d.namespace}/${d.name}`;

test('Marquez seed: job↔dataset edges equal derived/marquez-food-delivery.dataset-edges.tsv', () => {
  const edges = new Set<string>();
  for (const e of parsedSeed()) {
    assert.ok(e.job);
    for (const d of e.inputs) edges.add(['dataset', ref(d), 'job', ref(e.job)].join('\t'));
    for (const d of e.outputs) edges.add(['job', ref(e.job), 'dataset', ref(d)].join('\t'));
  }
  const expected = readTsv('derived/marquez-food-delivery.dataset-edges.tsv').map((r) => [r.from_kind, r.from, r.to_kind, r.to].join('\t'));
  assert.equal(expected.length, 27);
  assert.deepEqual([...edges].sort(), [...expected].sort());
});

test('Marquez seed: column edges equal derived/marquez-food-delivery.column-edges.tsv, dangling references kept', () => {
  const events = parsedSeed();
  const edges = new Set<string>();
  for (const e of events) {
    for (const out of e.outputs) {
      for (const entry of out.columnLineage) {
        assert.notEqual(entry.field, DATASET_WIDE_FIELD);
        for (const input of entry.inputs) {
          const from = `${input.namespace}/${input.name}#${input.field}`;
          const to = `${ref(out)}#${entry.field}`;
          const via = e.job ? ref(e.job) : '';
          if (input.transformations.length === 0) edges.add([from, to, via, '', '', ''].join('\t'));
          for (const t of input.transformations) edges.add([from, to, via, t.type, t.subtype ?? '', String(t.masking)].join('\t'));
        }
      }
    }
  }
  const expected = readTsv('derived/marquez-food-delivery.column-edges.tsv').map((r) =>
    [r.from_field, r.to_field, r.via_job, r.transformation_type, r.subtype, r.masking].join('\t'),
  );
  assert.equal(expected.length, 39);
  assert.deepEqual([...edges].sort(), [...expected].sort());

  // The PII path the graph must follow, as parsed.
  assert.ok(edges.has('food_delivery/public.customers#email\tfood_delivery/public.delivery_7_days#customer_email\tfood_delivery/etl_delivery_7_days\t\t\t'));
  assert.equal(
    [...edges].some((l) => /#phone\t/.test(l)),
    false,
    'no phone column has column-level descendants',
  );

  // Dangling references: an input dataset the job does not declare, a field its schema lacks.
  const delivery = events.find((e) => e.job?.name === 'etl_delivery_7_days' && e.outputs.some((o) => o.columnLineage.length > 0));
  assert.ok(delivery);
  assert.equal(
    delivery.inputs.some((d) => d.name === 'public.menu_item_id'),
    false,
  );
  const menuItemInput = delivery.outputs[0]!.columnLineage.find((c) => c.field === 'category_id')!.inputs;
  assert.deepEqual(menuItemInput, [{ namespace: 'food_delivery', name: 'public.menu_item_id', field: 'category_id', transformations: [] }]);
  const restaurants = events.flatMap((e) => e.outputs).find((d) => d.name === 'public.restaurants' && d.fields.length > 0);
  assert.ok(restaurants);
  assert.equal(
    restaurants.fields.some((f) => f.name === 'menu_item_id'),
    false,
  );
  assert.ok(
    edges.has('food_delivery/public.restaurants#menu_item_id\tfood_delivery/public.delivery_7_days#menu_item_id\tfood_delivery/etl_delivery_7_days\t\t\t'),
  );
});

test('Marquez seed: fields come from the schema facet', () => {
  const customers = parsedSeed()
    .flatMap((e) => e.outputs)
    .find((d) => d.name === 'public.customers' && d.fields.length > 0);
  assert.ok(customers);
  assert.deepEqual(
    customers.fields.filter((f) => ['email', 'phone', 'address'].includes(f.name)),
    [
      { name: 'email', type: 'VARCHAR', tags: [] },
      { name: 'address', type: 'VARCHAR', tags: [] },
      { name: 'phone', type: 'VARCHAR', tags: [] },
    ],
  );
});

test('parse: tags, ownership, nested fields, transformations, dataset-wide lineage', () => {
  const parsed = parseLineageEvent({
    eventType: 'COMPLETE',
    eventTime: '2024-01-01T00:00:00Z',
    producer: 'https://example.com/producer',
    schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent',
    run: { runId: '0190b9a4-7a8e-7c36-9d0c-2f6f6c1e0a01' },
    job: { namespace: 'etl', name: 'export_users' },
    inputs: [
      {
        namespace: 'postgres://db:5432',
        name: 'app.users',
        facets: {
          schema: {
            _producer: 'p',
            _schemaURL: 'https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json',
            fields: [
              { name: 'phone', type: 'text', tags: ['pii'] },
              { name: 'profile', type: 'struct', fields: [{ name: 'email', type: 'text' }] },
            ],
          },
          tags: {
            _producer: 'p',
            _schemaURL: 'https://openlineage.io/spec/facets/1-0-0/TagsDatasetFacet.json',
            tags: [
              { key: 'category', value: 'user.contact.phone_number', field: 'phone' },
              { key: 'classification', value: 'PII', field: 'device_id' },
              { key: 'environment', value: 'production' },
              { key: 'pii', value: '' },
            ],
          },
          ownership: {
            _producer: 'p',
            _schemaURL: 'https://openlineage.io/spec/facets/1-0-1/OwnershipDatasetFacet.json',
            owners: [{ name: 'team:growth' }, { type: 'x' }],
          },
        },
      },
    ],
    outputs: [
      {
        namespace: 's3://exports-sg',
        name: 'users.csv',
        facets: {
          columnLineage: {
            _producer: 'p',
            _schemaURL: 'https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json',
            fields: {
              phone_hash: {
                inputFields: [
                  {
                    namespace: 'postgres://db:5432',
                    name: 'app.users',
                    field: 'phone',
                    transformations: [{ type: 'DIRECT', subtype: 'TRANSFORMATION', masking: true }],
                  },
                ],
              },
              email: { inputFields: [{ namespace: 'postgres://db:5432', name: 'app.users', field: 'profile.email' }], transformationType: 'IDENTITY' },
            },
            dataset: [
              { namespace: 'postgres://db:5432', name: 'app.users', field: 'country', transformations: [{ type: 'INDIRECT', subtype: 'FILTER' }] },
              { namespace: 'postgres://db:5432', name: 'app.users', field: 'deleted' },
            ],
          },
          ownership: { _producer: 'p', _schemaURL: 'x', _deleted: true },
        },
      },
    ],
  });
  assert.deepEqual(parsed, {
    kind: 'RunEvent',
    eventType: 'COMPLETE',
    eventTime: '2024-01-01T00:00:00Z',
    runId: '0190b9a4-7a8e-7c36-9d0c-2f6f6c1e0a01',
    producer: 'https://example.com/producer',
    job: { namespace: 'etl', name: 'export_users' },
    inputs: [
      {
        namespace: 'postgres://db:5432',
        name: 'app.users',
        fields: [
          { name: 'phone', type: 'text', tags: ['pii', 'category:user.contact.phone_number'] },
          { name: 'profile', type: 'struct', tags: [] },
          { name: 'profile.email', type: 'text', tags: [] },
          { name: 'device_id', tags: ['classification:PII'] },
        ],
        columnLineage: [],
        datasetTags: ['environment:production', 'pii'],
        ownership: ['team:growth'],
      },
    ],
    outputs: [
      {
        namespace: 's3://exports-sg',
        name: 'users.csv',
        fields: [],
        columnLineage: [
          {
            field: 'phone_hash',
            inputs: [
              {
                namespace: 'postgres://db:5432',
                name: 'app.users',
                field: 'phone',
                transformations: [{ type: 'DIRECT', subtype: 'TRANSFORMATION', masking: true }],
              },
            ],
          },
          {
            field: 'email',
            inputs: [
              {
                namespace: 'postgres://db:5432',
                name: 'app.users',
                field: 'profile.email',
                transformations: [{ type: 'DIRECT', subtype: 'IDENTITY', masking: false }],
              },
            ],
          },
          {
            field: DATASET_WIDE_FIELD,
            inputs: [
              {
                namespace: 'postgres://db:5432',
                name: 'app.users',
                field: 'country',
                transformations: [{ type: 'INDIRECT', subtype: 'FILTER', masking: false }],
              },
              { namespace: 'postgres://db:5432', name: 'app.users', field: 'deleted', transformations: [{ type: 'INDIRECT', masking: false }] },
            ],
          },
        ],
        datasetTags: [],
      },
    ],
  });
});

test('parse: DatasetEvent and JobEvent shapes', () => {
  const ds = parseLineageEvent(readJson('examples/openlineage-repo/client/python/tests/serde_example_dataset_event.json'));
  assert.equal(ds.kind, 'DatasetEvent');
  assert.equal(ds.runId, undefined);
  assert.equal(ds.job, undefined);
  assert.ok(ds.dataset);
  const job = parseLineageEvent(readJson('examples/openlineage-repo/client/python/tests/serde_example_job_event.json'));
  assert.equal(job.kind, 'JobEvent');
  assert.equal(job.dataset, undefined);
  assert.ok(job.job);
  assert.throws(() => parseLineageEvent([]), TypeError);
  assert.throws(() => parseLineageEvent({ run: { runId: 'x' } }), /eventTime/);
});

test('validation is fast enough for bulk intake', () => {
  const seed = seedEvents();
  for (const e of seed) validator.validate(e); // compile once
  const n = 5000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) assert.equal(validator.validate(seed[i % seed.length]).ok, true);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const perSecond = Math.round(n / seconds);
  console.log(`openlineage: ${perSecond} events/s validated (Marquez seed, facets included)`);
  assert.ok(perSecond > 2000, `${perSecond} events/s`);
});
