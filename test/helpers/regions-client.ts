// A client of regional gateways, run on a client host (a network namespace) by
// test/regions-hosts.slow.test.ts: `node regions-client.js PLAN.json`. It sends each request of the
// plan, follows a 307 to the region that serves the record (sending the bearer token and body again,
// as a client of cordon must), and prints one JSON line per request: what came back, from which
// region and log entry, and which fields were in clear, by name and by hash, never a value.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

export interface PlannedRequest {
  readonly id: string;
  readonly method: string;
  readonly url: string;
  readonly token: string;
  readonly body?: unknown;
  /** Properties of the answer's JSON to hand back as they are (access API answers: id, grant, state; never a record's fields). */
  readonly keep?: readonly string[];
}

export interface Plan {
  readonly requests: readonly PlannedRequest[];
  /** Requests in flight at once (default 4). */
  readonly concurrency?: number;
  /** Per attempt (default 5000 ms). */
  readonly timeoutMs?: number;
  /** Go round the requests again and again until this many ms have passed (ids get `#round`); default: once. */
  readonly forMs?: number;
}

export interface Outcome {
  readonly id: string;
  /** 0 when no answer came (refused connection, timeout). */
  readonly status: number;
  readonly code?: string;
  /** Every URL asked, the first one first (a 307 adds the next). */
  readonly hops: readonly string[];
  readonly region?: string;
  readonly logIndex?: number;
  /** Fields of the answer's `fields` (reads), with a SHA-256 of each value: which were released, and as what. */
  readonly fields?: Readonly<Record<string, string>>;
  readonly transformed?: readonly string[];
  readonly items?: number;
  /** Lists: each item's key as the caller got it (its token where it may not see keys in clear). */
  readonly itemKeys?: readonly string[];
  /** Lists: the hash of every field value of every item (what a page disclosed, as hashes). */
  readonly itemHashes?: readonly string[];
  readonly elsewhere?: Readonly<Record<string, number>>;
  readonly error?: string;
  readonly kept?: Readonly<Record<string, unknown>>;
  /** When it was sent (ms since the epoch) and how long it took. */
  readonly at: number;
  readonly ms: number;
}

const hash = (v: unknown): string => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16);

async function send(r: PlannedRequest, timeoutMs: number): Promise<Outcome> {
  const started = Date.now();
  const hops: string[] = [];
  let url = r.url;
  for (let hop = 0; hop < 3; hop++) {
    hops.push(url);
    let res: Response;
    try {
      res = await fetch(url, {
        method: r.method,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
        headers: { authorization: `Bearer ${r.token}`, ...(r.body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(r.body === undefined ? {} : { body: JSON.stringify(r.body) }),
      });
    } catch (err) {
      return { id: r.id, status: 0, hops, error: (err as Error).name, at: started, ms: Date.now() - started };
    }
    const text = await res.text().catch(() => '');
    const location = res.headers.get('location');
    if (res.status === 307 && location) {
      url = location;
      continue;
    }
    let json: Record<string, unknown> = {};
    try {
      json = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      json = {};
    }
    const region = res.headers.get('x-cordon-region') ?? undefined;
    const index = res.headers.get('x-cordon-log-index');
    const fields = json['fields'] as Record<string, unknown> | undefined;
    const transformed = json['transformed'] as Record<string, unknown> | undefined;
    return {
      id: r.id,
      status: res.status,
      ...(typeof json['code'] === 'string' ? { code: json['code'] } : {}),
      hops,
      ...(region === undefined ? {} : { region }),
      ...(index === null ? {} : { logIndex: Number(index) }),
      ...(fields ? { fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, hash(v)])) } : {}),
      ...(transformed ? { transformed: Object.keys(transformed) } : {}),
      ...(Array.isArray(json['items'])
        ? {
            items: json['items'].length,
            itemKeys: (json['items'] as { key?: unknown }[]).map((it) => String(it.key)),
            itemHashes: (json['items'] as { fields?: Record<string, unknown> }[]).flatMap((it) => Object.values(it.fields ?? {}).map(hash)),
          }
        : {}),
      ...(json['elsewhere'] ? { elsewhere: json['elsewhere'] as Record<string, number> } : {}),
      ...(r.keep ? { kept: Object.fromEntries(r.keep.map((k) => [k, json[k]])) } : {}),
      at: started,
      ms: Date.now() - started,
    };
  }
  return { id: r.id, status: 0, hops, error: 'too many redirects', at: started, ms: Date.now() - started };
}

export async function runPlan(plan: Plan, onOutcome: (o: Outcome) => void): Promise<void> {
  const end = plan.forMs === undefined ? undefined : Date.now() + plan.forMs;
  let next = 0;
  const take = (): PlannedRequest | undefined => {
    const n = next++;
    if (end === undefined) return plan.requests[n];
    if (Date.now() >= end || plan.requests.length === 0) return undefined;
    const r = plan.requests[n % plan.requests.length]!;
    return { ...r, id: `${r.id}#${Math.floor(n / plan.requests.length)}` };
  };
  const workers = Array.from({ length: Math.max(1, plan.concurrency ?? 4) }, async () => {
    for (let r = take(); r !== undefined; r = take()) onOutcome(await send(r, plan.timeoutMs ?? 5000));
  });
  await Promise.all(workers);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const plan = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Plan;
  await runPlan(plan, (o) => process.stdout.write(`${JSON.stringify(o)}\n`));
}
