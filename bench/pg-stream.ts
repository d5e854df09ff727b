// A streaming PostgreSQL client for `bench pg`: runs one SELECT through postgres.js and reads its rows
// as they arrive (forEach keeps none), so that its own memory stays flat and what is measured is the
// server's. At each mark (a row count) it prints a JSON line, so that the server's memory can be
// sampled at that many rows. At `pauseAt` (a mark) it also stops reading until a line comes on stdin:
// the socket's buffers fill meanwhile and the server must wait for them (backpressure). Last, one JSON
// line: rows, milliseconds from the query to its last row (the stop left out), and rows/s.
//
//   node dist/bench/pg-stream.js '{"host":"127.0.0.1","port":5433,"user":"…","password":"…","query":"SELECT * FROM users","marks":[10000,50000],"pauseAt":10000}'

import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import postgres from 'postgres';

interface Spec {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly connection?: Record<string, string>;
  readonly query: string;
  readonly marks: readonly number[];
  readonly pauseAt?: number;
}

if (process.argv[2] === undefined) {
  process.stderr.write('usage: pg-stream.js SPEC_JSON\n');
  process.exit(2);
}
const spec = JSON.parse(process.argv[2]) as Spec;
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
// The client's socket, made here so that reading can be paused at a mark (postgres.js takes a connected socket).
let socket: Socket | undefined;
const sql = postgres({
  // postgres.js takes a connected socket from `socket` (an option its types do not declare).
  ...({
    socket: () =>
      new Promise<Socket>((done, fail) => {
        const s = connect(spec.port, spec.host, () => done(s));
        s.once('error', fail);
        socket = s;
      }),
  } as object),
  user: spec.user,
  password: spec.password,
  database: 'cordon',
  max: 1,
  connection: spec.connection ?? {},
  onnotice: () => {},
});
// Connect (and let the client read the catalog it reads at connect) before the clock starts.
await sql`SELECT 1 AS one`;
const marks = [...spec.marks].sort((a, b) => a - b);
let rows = 0;
let waiting: Promise<void> | undefined;
/** Time spent stopped at pauseAt, left out of the rate. */
let pausedMs = 0;
const t0 = performance.now();
const query = sql.unsafe(spec.query);
await query.forEach(() => {
  rows++;
  if (rows === marks[0]) {
    marks.shift();
    const pause = rows === spec.pauseAt;
    process.stdout.write(`${JSON.stringify({ mark: rows, ms: performance.now() - t0, pause })}\n`);
    if (!pause) return;
    // The connection stops reading until the parent says so: rows pile up in the socket, not here.
    socket!.pause();
    const pausedAt = performance.now();
    waiting = lines.next().then(() => {
      pausedMs += performance.now() - pausedAt;
      socket!.resume();
    });
  }
});
await waiting;
const ms = performance.now() - t0 - pausedMs;
process.stdout.write(`${JSON.stringify({ rows, ms, rps: rows / (ms / 1000) })}\n`);
await sql.end({ timeout: 1 });
process.exit(0);
