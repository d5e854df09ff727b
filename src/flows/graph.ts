// The flow graph: datasets and their columns, jobs, tools and their exports, teams, places. Column
// lineage carries categories: along direct edges as they are, along indirect edges only as
// "indirect", never across masked edges. Dataset-level lineage without column lineage carries
// nothing (it over-approximates; a column reaches only what its column lineage says).

/** A dataset as the graph needs it (from a parsed OpenLineage event). */
export interface GraphDataset {
  readonly namespace: string;
  readonly name: string;
  readonly fields: readonly { readonly name: string; readonly tags: readonly string[] }[];
  readonly columnLineage: readonly {
    readonly field: string;
    readonly inputs: readonly {
      readonly namespace: string;
      readonly name: string;
      readonly field: string;
      readonly transformations: readonly { readonly type: string; readonly masking: boolean }[];
    }[];
  }[];
  readonly datasetTags: readonly string[];
  /** Why its namespace or name follows no OpenLineage naming convention (kept as given). */
  readonly namingProblem?: string;
}

export interface GraphEvent {
  /** Where the event came from: `file:line`, or `api#n` for one posted to the server. */
  readonly source: string;
  readonly job: { readonly namespace: string; readonly name: string } | undefined;
  readonly runId: string | undefined;
  readonly eventType?: string | undefined;
  readonly eventTime?: string | undefined;
  readonly producer?: string | undefined;
  /** The job's `ownership` facet (owner names) and `documentation` facet (description). */
  readonly jobOwners?: readonly string[] | undefined;
  readonly jobDescription?: string | undefined;
  readonly inputs: readonly GraphDataset[];
  readonly outputs: readonly GraphDataset[];
}

/** One run, folded from all its events (START, RUNNING, COMPLETE, FAIL, ABORT, in any order). */
export interface RunNode {
  readonly runId: string;
  readonly job: string;
  /** Event types seen, in the order first seen. */
  readonly eventTypes: string[];
  firstTime: string;
  lastTime: string;
  readonly producers: string[];
}

/** What an event says about itself, for evidence: job, run id, event type and time, producer, and where it was read. */
export function describeEvent(e: GraphEvent): string {
  const parts: string[] = [];
  if (e.job) parts.push(`job ${e.job.namespace}/${e.job.name}`);
  if (e.runId) parts.push(`run ${e.runId}`);
  if (e.eventTime) parts.push(`${e.eventType ?? 'event'} at ${e.eventTime}`);
  if (e.producer) parts.push(`producer ${e.producer}`);
  // A posted event's store index says nothing to a reader; a file's line does.
  const where = e.source.startsWith('api#') ? 'posted' : e.source;
  return parts.length === 0 ? where : `${parts.join(', ')} (${where})`;
}

export type ColumnEdgeKind = 0 | 1 | 2;
export const DIRECT: ColumnEdgeKind = 0;
export const INDIRECT: ColumnEdgeKind = 1;
export const MASKED: ColumnEdgeKind = 2;

export interface DatasetNode {
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  /** Column indexes. */
  readonly columns: number[];
  readonly tags: Set<string>;
  /** Jobs that read / write it. */
  readonly readBy: Set<string>;
  readonly writtenBy: Set<string>;
  readonly evidence: string[];
}

export interface JobNode {
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  readonly inputs: Set<string>;
  readonly outputs: Set<string>;
  readonly evidence: string[];
  /** From the `ownership` and `documentation` job facets. */
  readonly owners: string[];
  description: string | undefined;
  readonly runs: Set<string>;
}

const MAX_EVIDENCE = 5;
/** Column edges are kept once per (from, to, kind): a key is from * COLUMN_KEY + to. */
const COLUMN_KEY = 2 ** 26;

export const datasetId = (namespace: string, name: string): string => `${namespace}/${name}`;

/** Column ids are `namespace/name#field`. */
export class FlowGraph {
  readonly datasets = new Map<string, DatasetNode>();
  readonly jobs = new Map<string, JobNode>();
  readonly columnIds: string[] = [];
  readonly columnDataset: string[] = [];
  readonly columnTags: Set<string>[] = [];
  private readonly columnIndex = new Map<string, number>();
  // Column edges, struct of arrays (a million of them stay compact).
  edgeFrom: Int32Array = new Int32Array(1024);
  edgeTo: Int32Array = new Int32Array(1024);
  edgeKind: Uint8Array = new Uint8Array(1024);
  /** Index into `sources` of the event that stated the edge. */
  edgeSource: Int32Array = new Int32Array(1024);
  /** Job of the edge's event, index into `edgeJobs`. */
  edgeJob: Int32Array = new Int32Array(1024);
  edgeCount = 0;
  /** Evidence of each event (`describeEvent`), by index. */
  readonly sources: string[] = [];
  /** Run id of each event, by index. */
  readonly sourceRuns: (string | undefined)[] = [];
  readonly runs = new Map<string, RunNode>();
  /** Dataset id -> why its name follows no OpenLineage naming convention. */
  readonly namingProblems = new Map<string, string>();
  /** (from, to) -> bit set of the kinds of column edge already kept between them. */
  private readonly edgeKinds = new Map<number, number>();
  readonly edgeJobs: string[] = [];
  private readonly edgeJobIndex = new Map<string, number>();
  /** References to datasets or fields no event declared (tolerated, reported). */
  readonly dangling = new Set<string>();
  private readonly declared = new Set<string>();

  dataset(namespace: string, name: string): DatasetNode {
    const id = datasetId(namespace, name);
    let d = this.datasets.get(id);
    if (!d) {
      d = { id, namespace, name, columns: [], tags: new Set(), readBy: new Set(), writtenBy: new Set(), evidence: [] };
      this.datasets.set(id, d);
    }
    return d;
  }

  column(namespace: string, name: string, field: string): number {
    const id = `${datasetId(namespace, name)}#${field}`;
    let i = this.columnIndex.get(id);
    if (i === undefined) {
      i = this.columnIds.length;
      this.columnIds.push(id);
      this.columnDataset.push(datasetId(namespace, name));
      this.columnTags.push(new Set());
      this.columnIndex.set(id, i);
      this.dataset(namespace, name).columns.push(i);
    }
    return i;
  }

  columnOf(id: string): number | undefined {
    return this.columnIndex.get(id);
  }

  private jobIndex(job: string): number {
    let j = this.edgeJobIndex.get(job);
    if (j === undefined) {
      j = this.edgeJobs.length;
      this.edgeJobs.push(job);
      this.edgeJobIndex.set(job, j);
    }
    return j;
  }

  /** Adds a column edge unless one of the same kind joins the same columns (the first statement is its evidence). */
  addColumnEdge(from: number, to: number, kind: ColumnEdgeKind, source: number, job: string): void {
    if (from >= COLUMN_KEY || to >= COLUMN_KEY) throw new Error(`the flow graph holds at most ${COLUMN_KEY} columns`);
    const key = from * COLUMN_KEY + to;
    const kinds = this.edgeKinds.get(key) ?? 0;
    if (kinds & (1 << kind)) return;
    this.edgeKinds.set(key, kinds | (1 << kind));
    if (this.edgeCount === this.edgeFrom.length) {
      const grow = <T extends Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.edgeFrom = grow(this.edgeFrom, (n) => new Int32Array(n));
      this.edgeTo = grow(this.edgeTo, (n) => new Int32Array(n));
      this.edgeKind = grow(this.edgeKind, (n) => new Uint8Array(n));
      this.edgeSource = grow(this.edgeSource, (n) => new Int32Array(n));
      this.edgeJob = grow(this.edgeJob, (n) => new Int32Array(n));
    }
    const e = this.edgeCount++;
    this.edgeFrom[e] = from;
    this.edgeTo[e] = to;
    this.edgeKind[e] = kind;
    this.edgeSource[e] = source;
    this.edgeJob[e] = this.jobIndex(job);
  }

  /**
   * Adds one event's datasets, job and column lineage. Events fold: every event of a run adds to
   * what the run's earlier events said and never takes anything away (a later COMPLETE with fewer
   * outputs, or a facet marked `_deleted`, removes no edge), and an event stated twice adds nothing.
   */
  addEvent(event: GraphEvent): void {
    const source = this.sources.length;
    const evidence = describeEvent(event);
    this.sources.push(evidence);
    this.sourceRuns.push(event.runId);
    const jobId = event.job ? datasetId(event.job.namespace, event.job.name) : '';
    let job: JobNode | undefined;
    if (event.job) {
      job = this.jobs.get(jobId);
      if (!job) {
        job = {
          id: jobId,
          namespace: event.job.namespace,
          name: event.job.name,
          inputs: new Set(),
          outputs: new Set(),
          evidence: [],
          owners: [],
          description: undefined,
          runs: new Set(),
        };
        this.jobs.set(jobId, job);
      }
      pushEvidence(job.evidence, evidence);
      for (const o of event.jobOwners ?? []) if (!job.owners.includes(o)) job.owners.push(o);
      job.description ??= event.jobDescription;
      if (event.runId) job.runs.add(event.runId);
    }
    if (event.runId) {
      let run = this.runs.get(event.runId);
      const time = event.eventTime ?? '';
      if (!run) {
        run = { runId: event.runId, job: jobId, eventTypes: [], firstTime: time, lastTime: time, producers: [] };
        this.runs.set(event.runId, run);
      }
      if (event.eventType && !run.eventTypes.includes(event.eventType)) run.eventTypes.push(event.eventType);
      if (event.producer && !run.producers.includes(event.producer)) run.producers.push(event.producer);
      if (time < run.firstTime) run.firstTime = time;
      if (time > run.lastTime) run.lastTime = time;
    }
    const declare = (ds: GraphDataset, role: 'input' | 'output') => {
      const d = this.dataset(ds.namespace, ds.name);
      pushEvidence(d.evidence, evidence);
      if (ds.namingProblem !== undefined) this.namingProblems.set(d.id, ds.namingProblem);
      this.declared.add(d.id);
      for (const t of ds.datasetTags) d.tags.add(t);
      for (const f of ds.fields) {
        const c = this.column(ds.namespace, ds.name, f.name);
        this.declared.add(this.columnIds[c]!);
        for (const t of f.tags) this.columnTags[c]!.add(t);
      }
      if (job) {
        (role === 'input' ? job.inputs : job.outputs).add(d.id);
        (role === 'input' ? d.readBy : d.writtenBy).add(jobId);
      }
    };
    for (const ds of event.inputs) declare(ds, 'input');
    for (const ds of event.outputs) declare(ds, 'output');
    for (const ds of event.outputs) {
      for (const cl of ds.columnLineage) {
        const to = this.column(ds.namespace, ds.name, cl.field);
        for (const input of cl.inputs) {
          const from = this.column(input.namespace, input.name, input.field);
          const kind = edgeKindOf(input.transformations);
          this.addColumnEdge(from, to, kind, source, jobId);
        }
      }
    }
  }

  /** After every event: references no event declared (a field or dataset only named in column lineage). */
  finish(): void {
    this.dangling.clear();
    for (const id of this.columnIds) {
      // `#*` stands for a dataset-wide dependency (a columnLineage facet's `dataset` list), not a field.
      if (id.endsWith('#*')) continue;
      if (!this.declared.has(id)) this.dangling.add(this.declared.has(id.slice(0, id.lastIndexOf('#'))) ? id : id.slice(0, id.lastIndexOf('#')));
    }
  }
}

function pushEvidence(list: string[], evidence: string): void {
  if (list.length < MAX_EVIDENCE && !list.includes(evidence)) list.push(evidence);
}

/** No transformations (older producers) counts as direct; any direct unmasked path makes it direct. */
export function edgeKindOf(ts: readonly { readonly type: string; readonly masking: boolean }[]): ColumnEdgeKind {
  if (ts.length === 0) return DIRECT;
  let kind: ColumnEdgeKind = MASKED;
  for (const t of ts) {
    if (t.masking) continue;
    if (t.type === 'DIRECT') return DIRECT;
    kind = INDIRECT;
  }
  return kind;
}
