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
}

export interface GraphEvent {
  /** Where the event came from: `file:line`, or `api#n` for one posted to the server. */
  readonly source: string;
  readonly job: { readonly namespace: string; readonly name: string } | undefined;
  readonly runId: string | undefined;
  readonly inputs: readonly GraphDataset[];
  readonly outputs: readonly GraphDataset[];
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
}

const MAX_EVIDENCE = 5;

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
  readonly sources: string[] = [];
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

  addColumnEdge(from: number, to: number, kind: ColumnEdgeKind, source: number, job: string): void {
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

  /** Adds one event's datasets, job and column lineage. */
  addEvent(event: GraphEvent): void {
    const source = this.sources.length;
    this.sources.push(event.source);
    const jobId = event.job ? datasetId(event.job.namespace, event.job.name) : '';
    let job: JobNode | undefined;
    if (event.job) {
      job = this.jobs.get(jobId);
      if (!job) {
        job = { id: jobId, namespace: event.job.namespace, name: event.job.name, inputs: new Set(), outputs: new Set(), evidence: [] };
        this.jobs.set(jobId, job);
      }
      if (job.evidence.length < MAX_EVIDENCE) job.evidence.push(event.source);
    }
    const declare = (ds: GraphDataset, role: 'input' | 'output') => {
      const d = this.dataset(ds.namespace, ds.name);
      if (d.evidence.length < MAX_EVIDENCE) d.evidence.push(event.source);
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
