// The multi-region harness (test/helpers/netns.ts, netns-postgres.ts, haproxy.ts): hosts as network
// namespaces reach each other and the test process, PostgreSQL lets in only its own region, HAProxy
// spreads requests and survives a backend killed by SIGKILL, partitions cut and heal, and remove()
// leaves nothing. Needs root (CI runs the slow suite as root): it fails, never skips, without it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Haproxy, startHaproxyIn } from './helpers/haproxy.js';
import { type NetHosts, CONTROL_ADDRESS, createHosts, sleep } from './helpers/netns.js';
import { type HostPostgres, startPostgresIn } from './helpers/netns-postgres.js';

const HOSTS = { us: '10.90.1.2', eu: '10.41.1.2', global: '10.95.1.2', austin: '10.20.0.2', dublin: '10.40.0.2', beijing: '10.80.0.2' };

/** A tiny HTTP backend: GET /healthz → ok; in mode `hang`, /hang/... is read and never answered; anything else → JSON naming it, the peer and X-Forwarded-For. */
const BACKEND = `
import { createServer } from 'node:http';
const [name, address, port, mode] = process.argv.slice(1);
createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    if (req.url === '/healthz') return void res.end('ok');
    if (mode === 'hang' && req.url.startsWith('/hang')) return void process.stdout.write(JSON.stringify({ hanging: req.method, body }) + '\\n');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ name, peer: req.socket.remoteAddress, xff: req.headers['x-forwarded-for'] ?? null, method: req.method, body }));
  });
}).listen(Number(port), address, () => process.stdout.write('listening\\n'));
`;

/** TCP connect to address:port within timeout ms: prints 'open' or the error code (ETIMEDOUT when the bound strikes). */
const TCP_PROBE = `
import { connect } from 'node:net';
const [address, port, timeout] = process.argv.slice(1);
const s = connect({ host: address, port: Number(port) });
const done = (r) => { process.stdout.write(r); s.destroy(); process.exit(0); };
s.setTimeout(Number(timeout), () => done('ETIMEDOUT'));
s.on('connect', () => done('open'));
s.on('error', (e) => done(e.code ?? e.message));
`;

/** One HTTP request (method, url, body): prints {status, json} or {error}. */
const REQUEST = `
const [method, url, body] = process.argv.slice(1);
try {
  const r = await fetch(url, { method, body: body === '' ? undefined : body, signal: AbortSignal.timeout(10000) });
  const text = await r.text();
  let json = null; try { json = JSON.parse(text); } catch {}
  process.stdout.write(JSON.stringify({ status: r.status, json }));
} catch (e) { process.stdout.write(JSON.stringify({ error: String(e.cause?.code ?? e.name) })); }
`;

/** count GETs to url, one after another, every interval ms: prints a JSON line per request, {i, name} or {i, status} or {i, error}. */
const STREAM = `
const [url, count, interval] = process.argv.slice(1);
for (let i = 0; i < Number(count); i++) {
  let line;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const text = await r.text();
    line = r.status === 200 ? { i, name: JSON.parse(text).name, xff: JSON.parse(text).xff } : { i, status: r.status };
  } catch (e) { line = { i, error: String(e.cause?.code ?? e.name) }; }
  process.stdout.write(JSON.stringify(line) + '\\n');
  await new Promise((r) => setTimeout(r, Number(interval)));
}
`;

/** Connects with postgres.js and runs SELECT 1: prints 'ok' or the error's code (SQLSTATE, or errno). */
const PG_CLIENT = `
import postgres from 'postgres';
const [url] = process.argv.slice(1);
const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
try { const [row] = await sql\`SELECT 1 AS one\`; process.stdout.write(row.one === 1 ? 'ok' : 'bad'); }
catch (e) { process.stdout.write(String(e.code ?? e.message)); }
finally { await sql.end({ timeout: 1 }); }
`;

let net: NetHosts;
const spawnedPids: number[] = [];
const figures = { streamFailures: -1, afterDownFailures: -1, midRequestGet: '', midRequestPost: '' };

before(async () => {
  assert.equal(process.getuid?.(), 0, 'test/netns.slow.test.ts needs root (network namespaces, veths, routes); run the slow suite as root, as CI does');
  net = await createHosts({ hosts: HOSTS });
});

after(async () => {
  await net?.remove();
});

/** A backend in `host` on address:port; resolves once it listens. */
async function backend(host: string, name: string, address: string, port: number, mode = 'plain'): Promise<{ child: ChildProcess; lines: string[] }> {
  const child = net.spawnNode(host, BACKEND, [name, address, String(port), mode]);
  if (child.pid !== undefined) spawnedPids.push(child.pid);
  const lines: string[] = [];
  let buffered = '';
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buffered += d;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const p of parts) {
        if (p === 'listening') resolve();
        else lines.push(p);
      }
    });
    child.once('exit', (code) => reject(new Error(`backend ${name} exited (${String(code)}) before listening: ${stderr}`)));
  });
  return { child, lines };
}

async function probe(from: string, address: string, port: number, timeoutMs = 1000): Promise<string> {
  const r = await net.node(from, TCP_PROBE, [address, String(port), String(timeoutMs)]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

async function request(
  from: string,
  method: string,
  url: string,
  body = '',
): Promise<{ status?: number; json?: Record<string, unknown> | null; error?: string }> {
  const r = await net.node(from, REQUEST, [method, url, body], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { status?: number; json?: Record<string, unknown> | null; error?: string };
}

async function pgConnect(from: string, url: string): Promise<string> {
  const r = await net.node(from, PG_CLIENT, [url], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

test('hosts reach each other and the test process over the bridge, each seen at its own address', async () => {
  for (const [name, h] of Object.entries(net.hosts)) {
    assert.match(h.netns, /^cg[0-9a-z]{4}-[a-z]+$/);
    assert.equal(h.netns, `${net.prefix}-${name}`);
  }
  const us = await backend('us', 'us-web', HOSTS.us, 9000);
  // host → host: the server in us sees austin's address as the peer.
  const fromAustin = await request('austin', 'GET', `http://${HOSTS.us}:9000/who`);
  assert.deepEqual(fromAustin, { status: 200, json: { name: 'us-web', peer: HOSTS.austin, xff: null, method: 'GET', body: '' } });
  const fromBeijing = await request('beijing', 'GET', `http://${HOSTS.us}:9000/who`);
  assert.equal(fromBeijing.json?.['peer'], HOSTS.beijing);
  // the test process → host, from the control address
  const r = await fetch(`http://${HOSTS.us}:9000/who`);
  assert.deepEqual(await r.json(), { name: 'us-web', peer: CONTROL_ADDRESS, xff: null, method: 'GET', body: '' });
  // host → the test process (e.g. a JWKS server the test runs)
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.socket.remoteAddress ?? '');
    res.end(JSON.stringify({ name: 'control', peer: req.socket.remoteAddress, xff: null, method: req.method, body: '' }));
  });
  await new Promise<void>((resolve) => server.listen(0, CONTROL_ADDRESS, resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const fromDublin = await request('dublin', 'GET', `http://${CONTROL_ADDRESS}:${port}/jwks`);
    assert.equal(fromDublin.json?.['peer'], HOSTS.dublin);
    assert.deepEqual(seen, [HOSTS.dublin]);
  } finally {
    server.close();
  }
  // every host reaches every other (TCP to the us server from all of them but us)
  for (const from of Object.keys(HOSTS).filter((h) => h !== 'us')) assert.equal(await probe(from, HOSTS.us, 9000), 'open', from);
  // a port nobody listens on is refused, not silently dropped
  assert.equal(await probe('eu', HOSTS.us, 9999), 'ECONNREFUSED');
  us.child.kill('SIGKILL');
});

let pgUs: HostPostgres;
test("PostgreSQL in us lets in us's own address only; a loopback-only server is unreachable from eu", async () => {
  pgUs = await startPostgresIn(net, 'us', {
    listen: ['127.0.0.1', HOSTS.us],
    allow: [`${HOSTS.us}/32`],
    databases: ['cordon_us'],
    role: 'gw',
    password: 'pw-us',
  });
  if (pgUs.pid() !== undefined) spawnedPids.push(pgUs.pid()!);
  assert.equal(pgUs.url(), `postgres://gw:pw-us@${HOSTS.us}:5432/cordon_us`);
  assert.equal(await pgConnect('us', pgUs.url()), 'ok');
  // eu reaches the server (it listens on the host address) but pg_hba.conf has no entry for it
  assert.equal(await pgConnect('eu', pgUs.url()), '28000');
  // nor does loopback TCP get in (initdb's 127.0.0.1 trust line is gone)
  assert.equal(await pgConnect('us', pgUs.url('127.0.0.1')), '28000');
  // a wrong password is refused too (28P01): the role is the only way in
  assert.equal(await pgConnect('us', pgUs.url().replace(':pw-us@', ':wrong@')), '28P01');
  // the harness's own SQL goes over the unix socket
  assert.equal((await pgUs.psql("SELECT current_user || ' ' || current_database()")).trim(), 'postgres cordon_us');
  assert.equal(
    (
      await pgUs.psql("SELECT string_agg(type || ' ' || coalesce(address, '-') || ' ' || auth_method, '; ' ORDER BY line_number) FROM pg_hba_file_rules")
    ).trim(),
    `local - trust; host ${HOSTS.us} scram-sha-256`,
  );

  const loopbackOnly = await startPostgresIn(net, 'us', { listen: ['127.0.0.1'], allow: ['127.0.0.1/32'], databases: ['other'], port: 5433 });
  assert.equal(await pgConnect('us', loopbackOnly.url('127.0.0.1')), 'ok');
  assert.equal(await pgConnect('eu', loopbackOnly.url(HOSTS.us)), 'ECONNREFUSED');
  await loopbackOnly.stop();
});

test('HAProxy in us spreads austin’s requests over two backends and survives one killed by SIGKILL', async () => {
  const b1 = await backend('us', 'b1', HOSTS.us, 9101);
  const b2 = await backend('us', 'b2', HOSTS.us, 9102);
  const lb: Haproxy = await startHaproxyIn(net, 'us', { bind: `${HOSTS.us}:8080`, backends: [`${HOSTS.us}:9101`, `${HOSTS.us}:9102`], health: '/healthz' });
  if (lb.pid !== undefined) spawnedPids.push(lb.pid);
  await lb.waitStatus('s1', 'UP');
  await lb.waitStatus('s2', 'UP');

  const stream = async (count: number, intervalMs: number, onLine?: (line: Record<string, unknown>) => void): Promise<Record<string, unknown>[]> => {
    const child = net.spawnNode('austin', STREAM, [lb.url, String(count), String(intervalMs)]);
    const lines: Record<string, unknown>[] = [];
    let buffered = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buffered += d;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const p of parts) {
        const line = JSON.parse(p) as Record<string, unknown>;
        lines.push(line);
        onLine?.(line);
      }
    });
    await new Promise((resolve) => child.once('close', resolve));
    return lines;
  };

  const first = await stream(40, 0);
  const byName = (ls: Record<string, unknown>[], n: string): number => ls.filter((l) => l['name'] === n).length;
  assert.deepEqual({ b1: byName(first, 'b1'), b2: byName(first, 'b2') }, { b1: 20, b2: 20 }, 'round robin: 20 each');
  assert.ok(
    first.every((l) => typeof l['xff'] === 'string' && (l['xff'] as string).split(',').at(-1)?.trim() === HOSTS.austin),
    'the backends see austin as the last X-Forwarded-For entry',
  );

  // SIGKILL b1 after 50 of 300 requests (one every 5 ms); haproxy's checks (500 ms, fall 2) then mark it DOWN.
  const during = await stream(300, 5, (line) => {
    if (line['i'] === 50) b1.child.kill('SIGKILL');
  });
  const failures = during.filter((l) => l['name'] === undefined);
  figures.streamFailures = failures.length;
  assert.equal(during.length, 300);
  assert.equal(byName(during.slice(0, 50), 'b1'), 25, 'b1 served its share before the kill');
  await lb.waitStatus('s1', 'DOWN');
  const afterDown = await stream(50, 0);
  figures.afterDownFailures = afterDown.filter((l) => l['name'] !== 'b2').length;
  assert.equal(figures.afterDownFailures, 0, 'after the check marks s1 DOWN every request goes to b2');
  // conn-failure retries with redispatch hide the dead backend even before it is marked DOWN
  assert.deepEqual(failures, [], 'requests during the kill are retried on b2');
  b2.child.kill('SIGKILL');
  await lb.stop();
});

test('a request already sent to a backend that dies is replayed on another (GET and POST alike)', async () => {
  // s1 reads /hang requests and never answers; s2 answers everything.
  const lb = await startHaproxyIn(net, 'us', { bind: `${HOSTS.us}:8081`, backends: [`${HOSTS.us}:9201`, `${HOSTS.us}:9202`] });
  if (lb.pid !== undefined) spawnedPids.push(lb.pid);
  const b2 = await backend('us', 'b2', HOSTS.us, 9202);
  const outcomes: Record<string, string> = {};
  for (const method of ['GET', 'POST']) {
    const hanger = await backend('us', 'b1', HOSTS.us, 9201, 'hang');
    await lb.waitStatus('s1', 'UP');
    await lb.waitStatus('s2', 'UP');
    // Two at once: round robin gives one to each; the one at s1 hangs until s1 is killed.
    const pending = [
      request('austin', method, `${lb.url}hang/1`, method === 'POST' ? 'x=1' : ''),
      request('austin', method, `${lb.url}hang/2`, method === 'POST' ? 'x=2' : ''),
    ];
    const deadline = Date.now() + 5_000;
    while (hanger.lines.length === 0 && Date.now() < deadline) await sleep(10);
    assert.equal(hanger.lines.length, 1, `one ${method} reached the hanging backend`);
    hanger.child.kill('SIGKILL');
    const results = await Promise.all(pending);
    outcomes[method] = results.map((r) => (r.error !== undefined ? r.error : `${r.status} ${String(r.json?.['name'])}`)).join(', ');
    await lb.waitStatus('s1', 'DOWN');
  }
  figures.midRequestGet = outcomes['GET']!;
  figures.midRequestPost = outcomes['POST']!;
  // haproxy 2.6 with retry-on empty-response does not look at the method: the POST is replayed too.
  assert.deepEqual(outcomes, { GET: '200 b2, 200 b2', POST: '200 b2, 200 b2' });
  const log = readFileSync(lb.logFile, 'utf8');
  // httplog's retries field: `+1` is one retry, redispatched to another server (the log names the last one, s2)
  for (const method of ['GET', 'POST']) {
    const redispatched = log.split('\n').filter((l) => l.includes(`"${method} /hang/`) && / be\/s2 .* \d+\/\d+\/\d+\/\d+\/\+1 /.test(l));
    assert.equal(redispatched.length, 1, `one ${method} redispatched once in ${lb.logFile}`);
  }
  b2.child.kill('SIGKILL');
  await lb.stop();
});

test('partition(eu) cuts eu off both ways; heal(eu) restores it', async () => {
  const us = await backend('us', 'us-web', HOSTS.us, 9300);
  const eu = await backend('eu', 'eu-web', HOSTS.eu, 9300);
  assert.equal(await probe('eu', HOSTS.us, 9300), 'open');
  net.partition('eu');
  const cut = await probe('eu', HOSTS.us, 9300, 1000);
  assert.ok(cut === 'ETIMEDOUT' || cut === 'EHOSTUNREACH', `eu → us while partitioned: ${cut}`);
  const cutIn = await probe('us', HOSTS.eu, 9300, 1000);
  assert.ok(cutIn === 'ETIMEDOUT' || cutIn === 'EHOSTUNREACH', `us → eu while partitioned: ${cutIn}`);
  // others are not affected
  assert.equal(await probe('austin', HOSTS.us, 9300), 'open');
  await net.heal('eu');
  assert.equal(await probe('eu', HOSTS.us, 9300), 'open');
  assert.equal(await probe('us', HOSTS.eu, 9300), 'open');
  us.child.kill('SIGKILL');
  eu.child.kill('SIGKILL');
});

test('pause() and resume() of a PostgreSQL: clients fail while it is down, succeed after; kill() then resume() recovers', async () => {
  await pgUs.psql('CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)');
  await pgUs.pause();
  assert.equal(await pgConnect('us', pgUs.url()), 'ECONNREFUSED');
  await pgUs.resume();
  if (pgUs.pid() !== undefined) spawnedPids.push(pgUs.pid()!);
  assert.equal(await pgConnect('us', pgUs.url()), 'ok');
  assert.equal((await pgUs.psql('SELECT v FROM kept')).trim(), '7');
  assert.match(await pgUs.dump(), /^COPY public\.kept \(v\) FROM stdin;\n7\n\\\.$/m);
  await pgUs.kill();
  assert.equal(await pgConnect('us', pgUs.url()), 'ECONNREFUSED');
  await pgUs.resume();
  if (pgUs.pid() !== undefined) spawnedPids.push(pgUs.pid()!);
  assert.equal((await pgUs.psql('SELECT v FROM kept')).trim(), '7');
});

test('remove() leaves no namespace, link, route, address or process of the run', async () => {
  const prefix = net.prefix;
  const spawned = net.spawned;
  const stillRunning = net.running().length;
  await net.remove();
  await net.remove(); // safe twice
  assert.deepEqual(net.running(), []);
  const ipOut = (args: string[]): string => spawnSync('ip', args, { encoding: 'utf8' }).stdout;
  assert.doesNotMatch(ipOut(['netns', 'list']), new RegExp(prefix));
  assert.doesNotMatch(ipOut(['-br', 'link']), new RegExp(prefix));
  const routes = ipOut(['route']);
  assert.doesNotMatch(routes, new RegExp(prefix));
  for (const a of Object.values(HOSTS)) assert.doesNotMatch(routes, new RegExp(`^${a.replace(/\./g, '\\.')}\\b`, 'm'));
  assert.doesNotMatch(ipOut(['-br', 'addr']), new RegExp(CONTROL_ADDRESS.replace(/\./g, '\\.')));
  const alive = spawnedPids.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  assert.deepEqual(alive, []);
  // nothing anywhere still runs with the run's files (postgres -D /tmp/PREFIX-..., haproxy -f /tmp/PREFIX-...)
  const leftovers = readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`${prefix}-`);
      } catch {
        return false;
      }
    });
  assert.deepEqual(leftovers, []);
  process.stdout.write(
    `netns summary: ${Object.keys(HOSTS).length} hosts (${prefix}), ${spawned} processes spawned (${stillRunning} still running at remove()), ` +
      `failures while a backend was SIGKILLed under 300 requests: ${figures.streamFailures}, after it was marked DOWN: ${figures.afterDownFailures}; ` +
      `requests in flight at a killed backend: GET → ${figures.midRequestGet}; POST → ${figures.midRequestPost}\n`,
  );
});
