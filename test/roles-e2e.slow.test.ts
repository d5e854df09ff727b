// Roles of the demo, end to end against `cordon up --demo` as users run it: lineage intake only for
// the policy's producers (the README's `cordon flows ingest` line, with the collector's token and
// with others'), and the demo's persona endpoint and X-Forwarded-For trust only on loopback:
// `--host 0.0.0.0` refused without --demo-public, and with it a warning and neither (and the server
// itself, given personas, serves them only while bound to loopback).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicy } from '../src/policy/index.js';
import { createCordonServer, createDemoIssuer } from '../src/server/index.js';
import { cordon } from './helpers/cli.js';
import { CLI, DEMO_POLICY, ROOT } from './helpers/paths.js';
import { startUp, type RunningUp } from './helpers/up.js';
import { tempDir } from './helpers/temp.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
/** The README's line that starts so, exactly one. */
function readmeLine(prefix: string): string {
  const lines = README.split('\n').filter((l) => l.startsWith(prefix));
  assert.equal(lines.length, 1, `the README shows one command starting ${JSON.stringify(prefix)}`);
  return lines[0]!;
}

/** Runs a README line in a shell from the repository root, against `up` instead of the default demo. */
function runReadmeLine(line: string, up: RunningUp, dataDir: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const command = line
    .replace(/^npx cordon /, `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} `)
    .replaceAll('http://127.0.0.1:7070', up.base)
    .replaceAll('./.cordon/demo/tokens.json', join(dataDir, 'demo', 'tokens.json'));
  return new Promise((done) => {
    execFile('sh', ['-c', command], { cwd: ROOT, encoding: 'utf8' }, (err, stdout, stderr) =>
      done({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
}

let up: RunningUp;
let dataDir: string;
before(async () => {
  dataDir = tempDir('cordon-roles-');
  up = await startUp(dataDir);
});
after(async () => {
  up?.child.kill('SIGINT');
  await up?.exited;
});

const leakIds = async (token: string): Promise<string[]> => {
  const r = await fetch(`${up.base}/v1/flows/leaks`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  return ((await r.json()) as { leaks: { id: string }[] }).leaks.map((l) => l.id).sort();
};

test("lineage: beijing-engineer, recsys-service and monitor posting a valid event get 403 flows.not_producer and the graph is unchanged; the README's ingest with lineage-collector's token is stored", async () => {
  const tokens = up.tokens();
  const line = readmeLine('npx cordon flows ingest ');
  assert.match(line, /\['lineage-collector'\]/);
  const event = JSON.parse(
    readFileSync(join(ROOT, 'policies/demo/flows/lineage.ndjson'), 'utf8').split('\n')[1]!.replaceAll('s3://partner-exports-sg', 's3://planted-bucket'),
  ) as unknown;
  const planted = 'dataset:s3://planted-bucket/contacts/daily.csv|user.contact.phone_number|US';
  const before = await leakIds(tokens['monitor']!);
  assert.equal(before.length, 7, "the demo's leaks (with the admin panel: legacy-admin's rule is inert)");

  for (const persona of ['beijing-engineer', 'recsys-service', 'monitor']) {
    const r = await fetch(`${up.base}/api/v1/lineage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens[persona]}`, 'content-type': 'application/json' },
      body: JSON.stringify(event),
    });
    assert.equal(r.status, 403, persona);
    assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const body = (await r.json()) as { code: string; detail: string };
    assert.equal(body.code, 'flows.not_producer');
    assert.equal(body.detail, `${persona} may not post lineage: cordon.yaml flows.producers names lineage-collector`);
    // The CLI as the README shows it, with this persona's token: refused, exit 1, nothing stored.
    const cli = await runReadmeLine(line.replace("['lineage-collector']", `['${persona}']`), up, dataDir);
    assert.equal(cli.status, 1, cli.stdout + cli.stderr);
    assert.match(cli.stderr, new RegExp(`^cordon: flows\\.not_producer: ${persona} may not post lineage: .* \\(after 0 events were stored\\)\\n$`));
  }
  assert.deepEqual(await leakIds(tokens['austin-approver-a']!), before, 'the flow graph is unchanged');

  const ok = await runReadmeLine(line, up, dataDir);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  const events = readFileSync(join(ROOT, 'policies/demo/flows/lineage.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '').length;
  assert.equal(ok.stdout, `${events} event(s) valid, ${events} stored\n`);
  const r = await fetch(`${up.base}/api/v1/lineage`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens['lineage-collector']}`, 'content-type': 'application/json' },
    body: JSON.stringify(event),
  });
  assert.equal(r.status, 201);
  assert.deepEqual(await leakIds(tokens['monitor']!), [...before, planted].sort(), "the collector's event is in the graph");
});

test("the README's `cordon flows leaks --url` gives /v1/flows/leaks exactly after the demo's lineage and a Spark job's events are posted; other personas exit 1 with the 403", async () => {
  const tokens = up.tokens();
  const ingest = await runReadmeLine(
    `npx cordon flows ingest test/fixtures/openlineage/integrations --url http://127.0.0.1:7070 --token "${tokens['lineage-collector']}"`,
    up,
    dataDir,
  );
  assert.equal(ingest.status, 0, ingest.stderr);
  assert.equal(ingest.stdout, '5 event(s) valid, 5 stored\n');
  const again = await runReadmeLine(
    `npx cordon flows ingest test/fixtures/openlineage/integrations --url http://127.0.0.1:7070 --token "${tokens['lineage-collector']}"`,
    up,
    dataDir,
  );
  assert.equal(again.stdout, '5 event(s) valid, 0 stored, 5 already stored\n');

  const line = readmeLine('npx cordon flows leaks --url ');
  assert.match(line, /\['monitor'\]/);
  const cli = await runReadmeLine(line, up, dataDir);
  assert.equal(cli.status, 1, cli.stderr);
  const r = await fetch(`${up.base}/v1/flows/leaks`, { headers: { authorization: `Bearer ${tokens['monitor']}` } });
  assert.equal(r.status, 200);
  const served = (await r.json()) as { leaks: { id: string }[] };
  assert.deepEqual(JSON.parse(cli.stdout), served, 'the CLI prints what the route answers');
  assert.ok(served.leaks.some((l) => l.id === 'dataset:s3://partner-exports-sg/contacts_sg|user.contact.phone_number|US'));

  for (const persona of ['beijing-engineer', 'lineage-collector']) {
    const refused = await runReadmeLine(line.replace("['monitor']", `['${persona}']`), up, dataDir);
    assert.equal(refused.status, 1, persona);
    const problem = JSON.parse(refused.stdout) as { code: string; status: number };
    assert.deepEqual([problem.code, problem.status], ['flows.forbidden', 403], persona);
  }
});

test('on loopback the demo hands out personas and believes X-Forwarded-For from this host', async () => {
  const r = await fetch(`${up.base}/v1/demo/personas`);
  assert.equal(r.status, 200);
  const { personas } = (await r.json()) as { personas: { id: string; token: string }[] };
  assert.equal(personas.find((p) => p.id === 'monitor')?.token, up.tokens()['monitor']);
  const info = (await (await fetch(`${up.base}/v1/console/info`)).json()) as { demo: boolean };
  assert.equal(info.demo, true);
  const read = await fetch(`${up.base}/v1/data/videos/demo-v-private-1`, {
    headers: { authorization: `Bearer ${up.tokens()['monitor']}`, 'x-forwarded-for': '10.20.0.5' },
  });
  assert.equal(read.status, 200, 'placed in Austin by X-Forwarded-For');
});

test('cordon up --demo on a non-loopback --host exits 2 naming --demo-public, and starts nothing', () => {
  for (const host of ['0.0.0.0', '::', '10.20.0.5']) {
    const dir = tempDir('cordon-roles-refused-');
    const r = cordon(['up', '--demo', '--demo-users', '0', '--port', '0', '--data-dir', dir, '--host', host]);
    assert.equal(r.status, 2, `${host}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      new RegExp(
        `^cordon: --demo listens only on a loopback address \\(127\\.0\\.0\\.1, ::1, localhost\\), not "${host.replaceAll('.', '\\.')}": .* Give --demo-public to serve it to other hosts anyway`,
      ),
    );
  }
  const stray = cordon(['up', '--policy', 'policies/demo', '--demo-public', '--jwks', 'http://127.0.0.1:1/jwks', '--issuer', 'x']);
  assert.equal(stray.status, 2);
  assert.equal(stray.stderr, 'cordon: --demo-public goes only with --demo\n');
});

test('cordon up --demo --host 0.0.0.0 --demo-public (as the README shows it) warns; /v1/demo/personas hands out no token; X-Forwarded-For from this host is not believed', async () => {
  const line = readmeLine('npx cordon up --demo --host ');
  assert.equal(line, 'npx cordon up --demo --host 0.0.0.0 --demo-public');
  const dir = tempDir('cordon-roles-public-');
  const pub = await startUp(dir, [...line.split(' ').slice(3), '--demo-users', '0']);
  try {
    const { out, err } = pub.output();
    assert.match(out, /cordon is serving .* on http:\/\/0\.0\.0\.0:\d+/);
    assert.match(
      err,
      /^cordon: warning: --demo-public: the demo listens on 0\.0\.0\.0, reachable from other hosts\. .*\/v1\/demo\/personas is off .*X-Forwarded-For from this host is not believed\.\n/,
    );
    // The demo's wire gateway listens there too, without a certificate: other hosts are refused before they send a token, and that is said.
    assert.match(
      err,
      /\ncordon: warning: the PostgreSQL wire gateway listens on 0\.0\.0\.0 without TLS \(no --pg-tls-cert, no pg-tls\.crt in the data dir\): clients on other hosts are refused \(28000\) before they send their password, a bearer token,/,
    );
    assert.doesNotMatch(out, /X-Forwarded-For: 10\./, 'no curl line that relies on X-Forwarded-For');
    const tokens = pub.tokens();

    const personas = await fetch(`${pub.base}/v1/demo/personas`);
    assert.equal(personas.status, 404);
    assert.equal(personas.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const text = await personas.text();
    assert.equal((JSON.parse(text) as { code: string }).code, 'gateway.no_route');
    for (const t of Object.values(tokens)) assert.ok(!text.includes(t), 'no token in the answer');
    assert.ok(!text.includes('eyJ'), 'nothing that looks like a JWT');
    const info = (await (await fetch(`${pub.base}/v1/console/info`)).json()) as { demo: boolean };
    assert.equal(info.demo, false, 'the console offers no persona picker');

    // monitor works in Austin (10.20.0.0/16); from this host, X-Forwarded-For would place it there.
    // Not believed, the request is placed by its own address (the local host), which disagrees with
    // the place in monitor's token: unknown, and a record with protected data is refused.
    const read = await fetch(`${pub.base}/v1/data/videos/demo-v-private-1`, {
      headers: { authorization: `Bearer ${tokens['monitor']}`, 'x-forwarded-for': '10.20.0.5' },
    });
    assert.equal(read.status, 403);
    assert.equal(((await read.json()) as { code: string }).code, 'gateway.unknown_location');
  } finally {
    pub.child.kill('SIGINT');
  }
  assert.equal(await pub.exited, 0);
});

test('the server itself hands out personas only while bound to loopback, whoever gave it them (in process: no socket, served)', async () => {
  const loaded = loadPolicy(DEMO_POLICY);
  assert.ok(loaded.ok);
  const issuer = await createDemoIssuer();
  const token = await issuer.sign('monitor');
  const server = await createCordonServer({
    policy: loaded.policy,
    dataDir: tempDir('cordon-roles-srv-'),
    tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
    storeUrls: Object.fromEntries([...loaded.policy.deployment.stores.keys()].map((n) => [n, 'pglite://memory'])),
    personas: [{ id: 'monitor', name: 'independent monitor', team: 'oversight', site: 'austin', token, forwardedFor: '10.20.0.5' }],
  });
  try {
    const inProcess = await server.app.inject({ method: 'GET', url: '/v1/demo/personas' });
    assert.equal(inProcess.statusCode, 200);
    assert.equal((inProcess.json() as { personas: { token: string }[] }).personas[0]!.token, token);
    await server.app.listen({ host: '0.0.0.0', port: 0 });
    const port = (server.app.server.address() as { port: number }).port;
    const r = await fetch(`http://127.0.0.1:${port}/v1/demo/personas`);
    assert.equal(r.status, 404);
    const text = await r.text();
    assert.ok(!text.includes(token));
    assert.equal(
      (JSON.parse(text) as { code: string; detail: string }).detail,
      'personas are handed out only by the demo (cordon up --demo) while it listens on a loopback address (127.0.0.1, ::1, localhost)',
    );
    const info = (await (await fetch(`http://127.0.0.1:${port}/v1/console/info`)).json()) as { demo: boolean };
    assert.equal(info.demo, false);
  } finally {
    await server.close();
  }
});
