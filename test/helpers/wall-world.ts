// The world the wall's model-based test runs against: a running cordon server on the demo policy
// (PGlite or a real PostgreSQL), every persona of the policy's directory with a demo token, every
// place of cordon.yaml's network map plus an unknown one and a token whose place disagrees with the
// network, an HTTP client that records what it sent, and raw scans of every table of every store.
import { join } from 'node:path';
import { loadPolicy, type Policy } from '../../src/policy/index.js';
import { createCordonServer, createDemoIssuer, type CordonServer, type DemoIssuer } from '../../src/server/index.js';
import { createDatabases } from '../fixtures/migrate/legacy.js';
import { DEMO_POLICY } from './paths.js';
import { startPostgres, type PostgresServer } from './postgres.js';
import { tempDir } from './temp.js';
import {
  bindMessage,
  cellsOf,
  describePortal,
  executeMessage,
  fieldsOf,
  parseMessage,
  queryMessage,
  RawPg,
  syncMessage,
  type BackendMessage,
} from './pg-raw.js';

export type Driver = 'pglite' | 'postgres';

/** Where a request comes from: an X-Forwarded-For address, and the country the network map gives it (undefined: unknown or mismatched). */
export interface Place {
  readonly id: string;
  readonly address: string;
  readonly country: string | undefined;
  /** A token location claim that disagrees with the network (the place is then unknown to the server). */
  readonly claim?: { readonly country: string; readonly site: string };
}

export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  readonly json: unknown;
}

/** What the wire gateway answered a statement: its rows' cells, and its error's SQLSTATE (none when it ran). */
export interface SqlAnswer extends Answer {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | null)[])[];
  readonly error: { readonly code: string; readonly message: string } | undefined;
  readonly notices: number;
}

export interface Sent {
  readonly method: string;
  readonly path: string;
  readonly body: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
}

export interface World {
  readonly driver: Driver;
  readonly policy: Policy;
  readonly server: CordonServer;
  readonly personas: readonly string[];
  readonly places: readonly Place[];
  /** The server's clock (epoch ms); only the test moves it. */
  now: number;
  send(persona: string, place: Place, method: string, path: string, body?: string, headers?: Record<string, string>): Promise<{ sent: Sent; answer: Answer }>;
  /**
   * Runs one SQL statement through the wire gateway as `persona` from `place` (a fresh connection,
   * the place given as a trusted proxy's cordon.forwarded_for): the simple protocol without `params`,
   * the extended one (Parse/Bind/Describe/Execute/Sync) with them. `answer.text` holds everything the
   * server sent after the password (rows, notices, errors), for the same W1 check as HTTP's.
   */
  sql(persona: string, place: Place, text: string, params?: readonly (string | null)[]): Promise<{ sent: Sent; answer: SqlAnswer }>;
  close(): Promise<void>;
}

/** How the test names a protected value in what it prints (test/helpers/hidden.ts). */
export { hashOf } from './hidden.js';

/** An address inside a network location (its base + 5), as `cordon up --demo` gives each site. */
function addressIn(cidr: string): string | undefined {
  if (!cidr.includes('.')) return undefined;
  const parts = cidr.split('/')[0]!.split('.').map(Number);
  parts[3] = (parts[3]! + 5) & 255;
  return parts.join('.');
}

/** Every place of the network map (but the local host), an unknown address, and a mismatched token claim. */
function placesOf(policy: Policy): Place[] {
  const places: Place[] = [];
  for (const l of policy.deployment.locations) {
    const address = addressIn(l.cidr);
    if (address === undefined || l.cidr.startsWith('127.')) continue;
    places.push({ id: l.site, address, country: l.country });
  }
  // 192.0.2.0/24 (TEST-NET-1) is in no location of the map.
  places.push({ id: 'unknown', address: '192.0.2.99', country: undefined });
  // A token that claims a place in one country, sent from another: the server must treat it as unknown.
  const far = places.find((p) => p.id === 'beijing') ?? places[places.length - 2]!;
  const claimed = places.find((p) => p.country !== undefined && p.country !== far.country) ?? far;
  places.push({ id: 'mismatch', address: far.address, country: undefined, claim: { country: claimed.country!, site: claimed.id } });
  return places;
}

export async function startWorld(driver: Driver, clockStart: number): Promise<World> {
  const loaded = loadPolicy(DEMO_POLICY);
  if (!loaded.ok) throw new Error('the demo policy does not load');
  const policy = loaded.policy;
  const issuer: DemoIssuer = await createDemoIssuer();
  const dir = tempDir('cordon-wall-');
  let pg: PostgresServer | undefined;
  let storeUrls: Record<string, string>;
  if (driver === 'postgres') {
    pg = await startPostgres({ database: 'cordon_wall' });
    const names = [...policy.deployment.stores.keys()];
    const urls = await createDatabases(pg.url, names);
    storeUrls = Object.fromEntries(names.map((n, i) => [n, urls[i]!]));
  } else {
    storeUrls = Object.fromEntries([...policy.deployment.stores.keys()].map((s) => [s, 'pglite://memory']));
  }
  const clock = { now: clockStart };
  let server: CordonServer;
  try {
    server = await createCordonServer({
      policy,
      dataDir: join(dir, 'data'),
      tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
      storeUrls,
      trustedProxies: ['127.0.0.1/32', '::1/128'],
      now: () => clock.now,
      log: { checkpointEveryMs: 200 },
      pgWire: true,
    });
  } catch (err) {
    await pg?.stop();
    throw err;
  }
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const pgPort = (await server.pg!.listen(0, '127.0.0.1')).port;
  const addr = server.app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const personas = [...policy.directory.principals.keys()].sort();
  const places = placesOf(policy);
  const tokens = new Map<string, string>();
  // A week's tokens: a long run must not outlive them (they are checked against the real clock).
  const ttlSec = 7 * 86_400;
  for (const p of personas) {
    tokens.set(p, await issuer.sign(p, { ttlSec }));
    for (const place of places) if (place.claim) tokens.set(`${p}\u0000${place.id}`, await issuer.sign(p, { ttlSec, location: place.claim }));
  }

  const world: World = {
    driver,
    policy,
    server,
    personas,
    places,
    get now() {
      return clock.now;
    },
    set now(t: number) {
      clock.now = t;
    },
    async send(persona, place, method, path, body, extra = {}) {
      const token = tokens.get(place.claim ? `${persona}\u0000${place.id}` : persona)!;
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'x-forwarded-for': place.address, ...extra };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${base}${path}`, { method, headers, body });
      const text = await res.text();
      const out: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        out[k] = v;
      });
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { sent: { method, path, body, headers }, answer: { status: res.status, headers: out, text, json } };
    },
    async sql(persona, place, text, params) {
      const token = tokens.get(place.claim ? `${persona}\u0000${place.id}` : persona)!;
      const sent: Sent = { method: 'SQL', path: text, body: params?.map((p) => p ?? 'NULL').join('\n'), headers: {} };
      const pg = await RawPg.connect(pgPort);
      try {
        const login = await pg.login(persona, token, { options: `-c cordon.forwarded_for=${place.address}` });
        let messages: BackendMessage[] = login.filter((m) => m.type === 'E');
        if (login.at(-1)?.type === 'Z') {
          if (params === undefined) pg.send(queryMessage(text));
          else pg.send(Buffer.concat([parseMessage(text), bindMessage(params), describePortal(), executeMessage(), syncMessage()]));
          messages = await pg.until('Z');
        }
        const columns: string[] = [];
        const rows: (string | null)[][] = [];
        const lines: string[] = [];
        let error: { code: string; message: string } | undefined;
        let notices = 0;
        for (const m of messages) {
          if (m.type === 'D') {
            const cells = cellsOf(m);
            rows.push(cells);
            lines.push(cells.map((c) => c ?? 'NULL').join('\t'));
          } else if (m.type === 'E' || m.type === 'N') {
            const f = fieldsOf(m);
            if (m.type === 'E') error ??= { code: f['C'] ?? '', message: f['M'] ?? '' };
            else notices++;
            lines.push(Object.values(f).join('\n'));
          } else if (m.type === 'T') {
            // RowDescription: the column names, each a C string after a 16-bit count (and 18 bytes of attributes).
            let at = 2;
            for (let i = 0; i < m.body.readInt16BE(0); i++) {
              const end = m.body.indexOf(0, at);
              columns.push(m.body.toString('utf8', at, end));
              at = end + 19;
            }
            lines.push(columns.join('\t'));
          } else if (m.type === 'C') lines.push(m.body.toString('utf8', 0, m.body.length - 1));
        }
        // As HTTP statuses for the shared checks: a server-side failure (classes XX and 58) is a 500, any other error a 400.
        const status = error === undefined ? 200 : /^(XX|58)/.test(error.code) ? 500 : 400;
        return { sent, answer: { status, headers: {}, text: lines.join('\n'), json: undefined, columns, rows, error, notices } };
      } finally {
        pg.end();
      }
    },
    async close() {
      await server.close();
      await pg?.stop();
    },
  };
  return world;
}

/** One table's rows as text, tagged with where they are. */
export interface TableText {
  readonly store: string;
  readonly table: string;
  /** Data tables: the record key of each row, with the row's text. */
  readonly rows: readonly { readonly key: string | undefined; readonly text: string }[];
}

/** A data table's rows as a scan read them, and the table's fingerprint (Store.fingerprints) then. */
export interface ScannedTable {
  readonly fingerprint: string;
  readonly rows: readonly { readonly key: string | undefined; readonly text: string }[];
}

/**
 * Reads every table of every store: data tables (and any table cordon may add) whole, append-only
 * logs (`log_*`, `tlog_*`) only past what the previous scan read (`cursors` keeps where each ended),
 * so each log row is scanned once. A data table whose fingerprint is what it was at the last scan
 * (`cache`) is not read again: its rows are the ones read then. The fingerprint covers every column
 * of every row, so this is the same check at a fraction of the reads (most steps change one table).
 */
export async function scanStores(server: CordonServer, cursors: Map<string, number>, cache: Map<string, ScannedTable> = new Map()): Promise<TableText[]> {
  const out: TableText[] = [];
  for (const [name, store] of server.stores) {
    const all = await store.tables();
    const fingerprints = await store.fingerprints(all.filter((t) => !t.startsWith('tlog_') && !t.startsWith('log_')));
    for (const table of all) {
      const id = `${name}/${table}`;
      const rows: { key: string | undefined; text: string }[] = [];
      if (table.startsWith('tlog_')) {
        let after = cursors.get(id) ?? -1;
        for (;;) {
          const page = await store.readEntries(table.slice('tlog_'.length), after, 5000, { payload: true });
          for (const r of page) rows.push({ key: undefined, text: `${r.entry}\n${r.payload ?? ''}` });
          if (page.length === 0) break;
          after = page[page.length - 1]!.index;
          if (page.length < 5000) break;
        }
        cursors.set(id, after);
      } else if (table.startsWith('log_')) {
        let after = cursors.get(id) ?? 0;
        for (;;) {
          const page = await store.readLog(table.slice('log_'.length), after, 5000);
          for (const r of page) rows.push({ key: undefined, text: JSON.stringify(r.entry) });
          if (page.length === 0) break;
          after = page[page.length - 1]!.index;
          if (page.length < 5000) break;
        }
        cursors.set(id, after);
      } else {
        const fingerprint = fingerprints.get(table)!;
        const cached = cache.get(id);
        if (cached?.fingerprint === fingerprint) rows.push(...cached.rows);
        else {
          for await (const row of store.dump(table)) {
            const { _updated_at: _, ...rest } = row;
            rows.push({ key: row['key'] ?? undefined, text: JSON.stringify(rest) });
          }
          cache.set(id, { fingerprint, rows });
        }
      }
      out.push({ store: name, table, rows });
    }
  }
  return out;
}
