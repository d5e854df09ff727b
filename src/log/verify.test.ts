// cordon's verifier against a log it did not write: Tessera's published 15-entry test log, served
// as static files, checked at every size with a state file; and the monitor's judgement of records,
// malformed ones included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyLog } from './verify.js';
import { anomaliesOf, checkRecord } from './monitor.js';
import { commitment } from './commitment.js';

const TESSERA = fileURLToPath(new URL('../../../test/fixtures/transparency/tlog-tiles/tessera-testdata-log', import.meta.url));
const VKEY = 'example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx';

test("cordon's verifier reads Tessera's test log at every size, and the state file holds it to each size seen", async () => {
  let size = 0;
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(req.url ?? '')).replace(/^\/log\//, '');
    const file = join(TESSERA, path === 'checkpoint' ? `checkpoint.${size}` : path);
    if (!file.startsWith(TESSERA) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200).end(readFileSync(file));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'cordon-verify-'));
  const state = join(dir, 'state.json');
  try {
    const roots: string[] = [];
    for (size = 0; size <= 15; size++) {
      const r = await verifyLog({ url, vkey: VKEY, statePath: state });
      assert.ok(r.ok, `size ${size}: ${JSON.stringify(r.problems)}`);
      assert.equal(r.size, size);
      assert.equal(r.origin, 'example.com/log/testdata');
      assert.equal(
        r.entries!.map((e) => e.toString()).join(' '),
        'one two three four five six seven eit nain ten ileven twelf threeten fourten fivten'.split(' ').slice(0, size).join(' '),
      );
      roots.push(r.root!);
    }
    console.log(`tessera test log: verified at all 16 sizes (0..15), each consistent with the one before; root 15 ${roots[15]}`);
    // Served back at an older size after a newer one was seen: a rollback, refused with both sizes.
    size = 12;
    const rolledBack = await verifyLog({ url, vkey: VKEY, statePath: state });
    assert.equal(rolledBack.ok, false);
    assert.equal(rolledBack.problems[0]!.kind, 'rollback');
    assert.deepEqual([rolledBack.problems[0]!.evidence['previous_size'], rolledBack.problems[0]!.evidence['size']], [15, 12]);
    // The wrong key: the signature check fails and nothing is fetched past the checkpoint.
    size = 15;
    const wrongKey = await verifyLog({ url, vkey: 'example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSy', statePath: state });
    assert.equal(wrongKey.ok, false);
    assert.equal(wrongKey.problems[0]!.kind, 'signature');
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the monitor flags protected data shown in clear outside the enclave, without a grant, or under an expired grant — and nothing else', () => {
  const base = {
    at: '2026-11-25T10:00:00.000Z',
    principal: 'p',
    dataset: 'users',
    country: 'US',
    enclaveCountries: ['US'],
    grant: { id: 'g', expiresAt: '2026-11-25T11:00:00.000Z' },
  };
  const clear = [{ field: 'phone_number', class: 'protected', disclosure: 'clear' }];
  const kinds = (r: unknown) => anomaliesOf(7, r).map((a) => a.kind);
  assert.deepEqual(kinds({ ...base, fields: clear }), []);
  assert.deepEqual(
    kinds({ ...base, fields: [{ field: 'phone_number', class: 'protected', disclosure: 'masked' }] }),
    [],
    'a masked field is not shown in clear',
  );
  assert.deepEqual(
    kinds({ ...base, fields: [{ field: 'username', class: 'public', disclosure: 'clear' }], grant: null, country: 'CN' }),
    [],
    'public data may go anywhere',
  );
  assert.deepEqual(kinds({ ...base, fields: clear, country: 'CN' }), ['outside_enclave']);
  assert.deepEqual(kinds({ ...base, fields: clear, grant: null }), ['no_grant']);
  assert.deepEqual(
    kinds({ ...base, fields: clear, grant: { id: 'g', expiresAt: '2026-11-25T10:00:00.000Z' } }),
    ['expired_grant'],
    'a grant stops at its expiry, to the millisecond',
  );
  assert.deepEqual(kinds({ ...base, fields: clear, country: 'CN', grant: null }), ['outside_enclave', 'no_grant']);
  assert.match(anomaliesOf(7, { ...base, fields: clear, grant: null })[0]!.message, /^p was shown users\.phone_number \(protected\) without a grant$/);
  // v2 groups fields decided alike: each field of a protected group in clear is judged.
  const grouped = [
    { class: 'public', disclosure: 'clear', rules: [], fields: { username: null } },
    { class: 'protected', disclosure: 'clear', rules: [], fields: { email: 'user.contact.email', phone_number: 'user.contact.phone_number' } },
  ];
  assert.deepEqual(kinds({ ...base, v: 2, fields: grouped }), []);
  assert.deepEqual(kinds({ ...base, v: 2, fields: grouped, country: 'CN' }), ['outside_enclave']);
  assert.match(
    anomaliesOf(7, { ...base, v: 2, fields: grouped, grant: null })[0]!.message,
    /^p was shown users\.email, phone_number \(protected\) without a grant$/,
  );
});

test('the monitor reports a record that fails its schema as a finding, and goes on: no crash, no judgement of what it cannot read', () => {
  const salt = Buffer.alloc(16, 3);
  const good = {
    v: 1,
    at: '2026-11-25T10:00:00.000Z',
    principal: 'p',
    country: 'CN',
    site: 'beijing',
    action: 'read',
    dataset: 'users',
    subject: null,
    fields: [{ field: 'email', category: 'user.contact.email', class: 'protected', disclosure: 'clear', rules: [] }],
    grant: null,
    jurisdiction: 'US',
    enclaveCountries: ['US'],
    outcome: 'released',
    policyVersion: 'pv',
  };
  const found = (record: unknown) => {
    const r = checkRecord(4, record, salt, commitment(record, salt));
    return { mismatch: r.mismatch, kinds: r.anomalies.map((a) => a.kind), messages: r.anomalies.map((a) => a.message) };
  };
  assert.deepEqual(found(good), { mismatch: undefined, kinds: ['outside_enclave', 'no_grant'], messages: found(good).messages }, 'a valid record is judged');
  // `fields` that is not a list would have crashed the judgement; it is a finding instead.
  assert.deepEqual(found({ ...good, fields: 'email' }).kinds, ['invalid_record']);
  assert.deepEqual(found({ ...good, fields: 'email' }).messages, ['access_record v1: /fields must be array']);
  assert.deepEqual(found({ v: 1, at: '2026-11-25T10:00:00.000Z', type: 'test.nonsense' }).messages, ['"test.nonsense" is not a registered log record type']);
  assert.deepEqual(found(null).kinds, ['invalid_record']);
  assert.deepEqual(found({ ...good, v: 7 }).messages, ['access_record has no version 7 (versions 1, 2)']);
  assert.deepEqual(found({ ...good, v: 2 }).kinds, ['invalid_record'], "v1's list of fields under v2 does not fit v2");
  // A number canonical JSON cannot encode: the record cannot match its entry, and says so.
  const odd = { ...good, dataset: 1.5 };
  const r = checkRecord(4, odd, salt, Buffer.alloc(32));
  assert.match(r.mismatch ?? '', /cannot be encoded as canonical JSON/);
  assert.deepEqual(
    r.anomalies.map((a) => a.message),
    ['access_record v1: /dataset must be string'],
  );
});
