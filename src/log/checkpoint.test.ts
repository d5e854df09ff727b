// Checkpoints against Tessera's published test log (re-signed byte for byte), strict parsing,
// witness quorums, and tlog-proof formatting and parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  TLOG_PROOF_HEADER,
  formatCheckpoint,
  formatTlogProof,
  inclusionProofLength,
  openCheckpoint,
  openTlogProof,
  parseCheckpoint,
  parseTlogProof,
  signCheckpoint,
} from './checkpoint.js';
import { NoteError, addSignatures, cosign, createSigner, parseNote, parseSignerKey, signNote } from './note.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/transparency', import.meta.url));
const TESSERA = join(FIXTURES, 'tlog-tiles/tessera-testdata-log');
const TESSERA_ORIGIN = 'example.com/log/testdata';
const TESSERA_VKEY = 'example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx';
const TESSERA_SKEY = 'PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg';

const sha256 = (...parts: Buffer[]): Buffer => createHash('sha256').update(Buffer.concat(parts)).digest();
const leaf = (s: string): Buffer => sha256(Buffer.from([0]), Buffer.from(s));
const isNoteError = (code: string, message?: RegExp) => (err: unknown) =>
  err instanceof NoteError && err.code === code && (message === undefined || message.test(err.message));
const ROOT = sha256(Buffer.from('a root'));

test('tessera test log: every checkpoint opens with the vkey and re-signs byte for byte', () => {
  const signer = parseSignerKey(TESSERA_SKEY);
  let count = 0;
  for (const name of [...Array.from({ length: 16 }, (_, n) => `checkpoint.${n}`), 'checkpoint']) {
    const file = readFileSync(join(TESSERA, name), 'utf8');
    const size = name === 'checkpoint' ? 15 : Number(name.slice('checkpoint.'.length));
    const opened = openCheckpoint(file, TESSERA_VKEY);
    assert.equal(opened.checkpoint.origin, TESSERA_ORIGIN);
    assert.equal(opened.checkpoint.size, size);
    assert.deepEqual(opened.checkpoint.extensions, []);
    assert.deepEqual(opened.cosignatures, []);
    assert.deepEqual(parseCheckpoint(parseNote(file).text), opened.checkpoint);
    assert.equal(formatCheckpoint(opened.checkpoint), opened.text);
    assert.equal(signCheckpoint(opened.checkpoint, signer), file, `${name} re-signed byte for byte`);
    count += 1;
  }
  // Roots that need no Merkle code: the empty tree, one leaf, two leaves.
  const root = (n: number) => openCheckpoint(readFileSync(join(TESSERA, `checkpoint.${n}`)), TESSERA_VKEY).checkpoint.root;
  assert.equal(root(0).toString('base64'), '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  assert.deepEqual(root(0), sha256(Buffer.alloc(0)));
  assert.deepEqual(root(1), leaf('one'));
  assert.deepEqual(root(2), sha256(Buffer.from([1]), leaf('one'), leaf('two')));
  assert.equal(root(15).toString('base64'), 'rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=');
  console.log(`tessera: ${count} checkpoints opened and re-signed byte for byte`);
  assert.equal(count, 17);
});

test('checkpoints: malformed bodies are rejected with the reason', () => {
  const r = ROOT.toString('base64');
  const cases: { note: string; text: string; error: RegExp }[] = [
    { note: 'origin only', text: 'o\n', error: /1 lines, want at least 3/ },
    { note: 'no root line', text: 'o\n1\n', error: /2 lines, want at least 3/ },
    { note: 'no final newline', text: `o\n1\n${r}`, error: /does not end in a newline/ },
    { note: 'empty text', text: '', error: /does not end in a newline/ },
    { note: 'empty origin', text: `\n1\n${r}\n`, error: /origin line is empty/ },
    { note: 'leading zero', text: `o\n01\n${r}\n`, error: /tree size "01" is not a decimal/ },
    { note: 'negative size', text: `o\n-1\n${r}\n`, error: /tree size "-1"/ },
    { note: 'plus sign', text: `o\n+1\n${r}\n`, error: /tree size "\+1"/ },
    { note: 'hex size', text: `o\n0x10\n${r}\n`, error: /tree size "0x10"/ },
    { note: 'exponent', text: `o\n1e3\n${r}\n`, error: /tree size "1e3"/ },
    { note: 'spaces around size', text: `o\n 1\n${r}\n`, error: /tree size " 1"/ },
    { note: 'empty size', text: `o\n\n${r}\n`, error: /tree size ""/ },
    { note: 'size past 2^53-1', text: `o\n9007199254740992\n${r}\n`, error: /up to 2\^53-1/ },
    { note: 'short root', text: `o\n1\n${ROOT.subarray(1).toString('base64')}\n`, error: /root hash has 31 bytes, want 32/ },
    { note: 'long root', text: `o\n1\n${Buffer.concat([ROOT, Buffer.from([0])]).toString('base64')}\n`, error: /root hash has 33 bytes/ },
    { note: 'unpadded root', text: `o\n1\n${r.replace(/=$/, '')}\n`, error: /not standard base64/ },
    { note: 'URL-safe root', text: 'o\n1\n47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=\n', error: /not standard base64/ },
    { note: 'hex root', text: `o\n1\n${ROOT.toString('hex')}\n`, error: /root hash has 48 bytes|not standard base64/ },
    { note: 'empty extension line', text: `o\n1\n${r}\n\next\n`, error: /extension line 1 is empty/ },
    { note: 'trailing empty line', text: `o\n1\n${r}\n\n`, error: /extension line 1 is empty/ },
    { note: 'control character in origin', text: `o\u0001\n1\n${r}\n`, error: /origin contains a newline or control character/ },
  ];
  for (const c of cases) assert.throws(() => parseCheckpoint(c.text), isNoteError('log.bad_checkpoint', c.error), c.note);
  assert.equal(cases.length, 21);

  // The same through a signed note: the signature is fine, the body is not.
  const signer = parseSignerKey(TESSERA_SKEY);
  const signed = signNote(`${TESSERA_ORIGIN}\n007\n${r}\n`, [signer]);
  assert.throws(() => openCheckpoint(signed, TESSERA_VKEY), isNoteError('log.bad_checkpoint', /tree size "007"/));

  // Allowed: size 0, extension lines, an origin with spaces (the Go checksum database's).
  assert.deepEqual(parseCheckpoint(`go.sum database tree\n0\n${r}\nx y\n+\n`), {
    origin: 'go.sum database tree',
    size: 0,
    root: ROOT,
    extensions: ['x y', '+'],
  });
  assert.equal(parseCheckpoint(`o\n9007199254740991\n${r}\n`).size, Number.MAX_SAFE_INTEGER);
});

test('formatCheckpoint writes the exact text and refuses what it could not parse back', () => {
  const text = formatCheckpoint({ origin: 'log.example/a', size: 42, root: ROOT, extensions: ['ext one'] });
  assert.equal(text, `log.example/a\n42\n${ROOT.toString('base64')}\next one\n`);
  assert.deepEqual(parseCheckpoint(text), { origin: 'log.example/a', size: 42, root: ROOT, extensions: ['ext one'] });
  const bad: { note: string; cp: Parameters<typeof formatCheckpoint>[0]; error: RegExp }[] = [
    { note: 'empty origin', cp: { origin: '', size: 1, root: ROOT }, error: /origin is empty/ },
    { note: 'newline in origin', cp: { origin: 'a\nb', size: 1, root: ROOT }, error: /origin contains a newline/ },
    { note: 'negative size', cp: { origin: 'o', size: -1, root: ROOT }, error: /size -1 is not a non-negative integer/ },
    { note: 'fractional size', cp: { origin: 'o', size: 1.5, root: ROOT }, error: /size 1.5/ },
    { note: 'unsafe size', cp: { origin: 'o', size: 2 ** 53, root: ROOT }, error: /size 9007199254740992/ },
    { note: 'short root', cp: { origin: 'o', size: 1, root: ROOT.subarray(0, 31) }, error: /31 bytes/ },
    { note: 'empty extension', cp: { origin: 'o', size: 1, root: ROOT, extensions: [''] }, error: /extension line 1 is empty/ },
    { note: 'newline in extension', cp: { origin: 'o', size: 1, root: ROOT, extensions: ['a\nb'] }, error: /extension line 1 contains a newline/ },
  ];
  for (const c of bad) assert.throws(() => formatCheckpoint(c.cp), isNoteError('log.bad_checkpoint', c.error), c.note);
});

test('openCheckpoint: wrong key, wrong origin, tampering', () => {
  const file = readFileSync(join(TESSERA, 'checkpoint.7'), 'utf8');
  const other = createSigner(TESSERA_ORIGIN, Buffer.alloc(32, 3));
  assert.throws(
    () => openCheckpoint(file, other.vkey),
    isNoteError('log.untrusted_note', /no signature by the log key example\.com\/log\/testdata\+[0-9a-f]{8}$/),
  );
  assert.throws(
    () => openCheckpoint(file, TESSERA_VKEY, { origin: 'example.com/other' }),
    isNoteError('log.bad_checkpoint', /origin "example.com\/log\/testdata" is not the expected "example.com\/other"/),
  );
  assert.throws(
    () => openCheckpoint(file.replace('\n7\n', '\n8\n'), TESSERA_VKEY),
    isNoteError('log.bad_signature', /invalid signature for key example\.com\/log\/testdata\+33d7b496/),
  );
  assert.throws(() => openCheckpoint(file.replace('\n\n', '\n'), TESSERA_VKEY), isNoteError('log.bad_note'));
  // A log whose key name is not its origin (the Go checksum database) opens with an explicit origin.
  const goSum =
    'go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n— sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n';
  const goVkey = 'sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8';
  assert.throws(() => openCheckpoint(goSum, goVkey), isNoteError('log.bad_checkpoint'));
  assert.equal(openCheckpoint(goSum, goVkey, { origin: 'go.sum database tree' }).checkpoint.size, 6476701);
});

test('witness quorum: minCosignatures counts distinct valid cosignatures and names the missing', () => {
  const log = createSigner('log.example/cordon', Buffer.alloc(32, 1));
  const w = [1, 2, 3].map((i) => createSigner(`w${i}.example`, sha256(Buffer.from(`witness ${i}`)), 0x04));
  const stranger = createSigner('w9.example', Buffer.alloc(32, 9), 0x04);
  const [w1, w2, w3] = w as [(typeof w)[0], (typeof w)[0], (typeof w)[0]];
  const cp = { origin: 'log.example/cordon', size: 3, root: ROOT };
  const body = formatCheckpoint(cp);
  const note = addSignatures(signCheckpoint(cp, log), [cosign(body, w1, 1700000000), cosign(body, stranger, 5), cosign(body, w2, 1700000060)]);
  const witnesses = w.map((s) => s.vkey);

  const opened = openCheckpoint(note, log.vkey, { witnesses, minCosignatures: 2 });
  assert.deepEqual(
    opened.cosignatures.map((c) => [c.name, c.keyId.toString('hex'), c.time]),
    [
      ['w1.example', w1.keyId.toString('hex'), 1700000000],
      ['w2.example', w2.keyId.toString('hex'), 1700000060],
    ],
  );
  assert.equal(openCheckpoint(note, log.vkey).cosignatures.length, 0, 'no witnesses configured: cosignatures are ignored');
  assert.throws(
    () => openCheckpoint(note, log.vkey, { witnesses, minCosignatures: 3 }),
    (err: unknown) => {
      assert.ok(err instanceof NoteError && err.code === 'log.missing_cosignatures');
      assert.equal(err.message, `checkpoint has 2 of the 3 witness cosignatures required; missing: w3.example+${w3.keyId.toString('hex')}`);
      assert.deepEqual(err.details, [`w3.example+${w3.keyId.toString('hex')}`]);
      return true;
    },
  );
  const only1 = addSignatures(signCheckpoint(cp, log), [cosign(body, w1, 1)]);
  assert.throws(
    () => openCheckpoint(only1, log.vkey, { witnesses, minCosignatures: 2 }),
    (err: unknown) => err instanceof NoteError && err.code === 'log.missing_cosignatures' && err.details.length === 2 && /has 1 of the 2/.test(err.message),
  );

  // The same witness twice counts once; a second cosignature by it is refused when appended.
  assert.equal(addSignatures(note, [cosign(body, w1, 1700000000)]), note);
  assert.throws(() => addSignatures(note, [cosign(body, w1, 1700000001)]), /already has a different signature by w1\.example/);
  // A cosignature over another checkpoint, by a configured witness, rejects the note.
  const wrong = addSignatures(signCheckpoint(cp, log), [cosign(formatCheckpoint({ ...cp, size: 4 }), w3, 1)]);
  assert.throws(() => openCheckpoint(wrong, log.vkey, { witnesses }), isNoteError('log.bad_signature', /w3\.example/));
  // Configuration mistakes are bugs, not bad input.
  assert.throws(() => openCheckpoint(note, log.vkey, { witnesses, minCosignatures: 4 }), RangeError);
  assert.throws(() => openCheckpoint(note, log.vkey, { witnesses: [log.vkey] }), isNoteError('log.bad_key', /not a cosignature\/v1/));
});

test('inclusion proof lengths follow RFC 6962', () => {
  assert.deepEqual(
    [
      [0, 1],
      [0, 2],
      [1, 2],
      [5, 15],
      [14, 15],
      [0, 8],
      [7, 8],
      [4, 5],
      [0, 5],
    ].map(([i, n]) => inclusionProofLength(i!, n!)),
    [0, 1, 1, 4, 3, 3, 3, 1, 3],
  );
  assert.throws(() => inclusionProofLength(5, 5), RangeError);
});

test('tlog-proof: exact format, round trip, opening', () => {
  const checkpointNote = readFileSync(join(TESSERA, 'checkpoint.15'), 'utf8');
  const proof = [0, 1, 2, 3].map((i) => sha256(Buffer.from(`hash ${i}`)));
  const extra = Buffer.from('age-v1.2.1-darwin-arm64.tar.gz');
  const text = formatTlogProof({ index: 5, proof, checkpointNote, extra });
  assert.equal(
    text,
    `${TLOG_PROOF_HEADER}\nextra ${extra.toString('base64')}\nindex 5\n${proof.map((h) => `${h.toString('base64')}\n`).join('')}\n${checkpointNote}`,
  );
  const parsed = parseTlogProof(text);
  assert.equal(parsed.index, 5);
  assert.deepEqual(parsed.proof, proof);
  assert.deepEqual(parsed.extra, extra);
  assert.equal(parsed.checkpointNote, checkpointNote);
  assert.equal(parsed.checkpoint.size, 15);
  assert.equal(formatTlogProof(parsed), text);
  assert.deepEqual(parseTlogProof(Buffer.from(text)), parsed);

  const plain = formatTlogProof({ index: 14, proof: proof.slice(0, 3), checkpointNote });
  assert.ok(plain.startsWith(`${TLOG_PROOF_HEADER}\nindex 14\n`));
  assert.equal(parseTlogProof(plain).extra, undefined);
  const single = readFileSync(join(TESSERA, 'checkpoint.1'), 'utf8');
  assert.equal(formatTlogProof({ index: 0, proof: [], checkpointNote: single }), `${TLOG_PROOF_HEADER}\nindex 0\n\n${single}`);

  const opened = openTlogProof(text, TESSERA_VKEY);
  assert.equal(opened.index, 5);
  assert.equal(opened.checkpoint.size, 15);
  assert.deepEqual(opened.extra, extra);
  assert.throws(() => openTlogProof(text, createSigner(TESSERA_ORIGIN, Buffer.alloc(32, 3)).vkey), isNoteError('log.untrusted_note'));
});

test('tlog-proof: malformed proofs are rejected with the reason', () => {
  const note = readFileSync(join(TESSERA, 'checkpoint.15'), 'utf8');
  const h = (i: number) => sha256(Buffer.from(`hash ${i}`)).toString('base64');
  const good = [h(0), h(1), h(2), h(3)].join('\n');
  const cases: { note: string; text: string; error: RegExp }[] = [
    { note: 'other header', text: `c2sp.org/tlog-proof@v2\nindex 5\n${good}\n\n${note}`, error: /first line is "c2sp.org\/tlog-proof@v2"/ },
    { note: 'header only', text: TLOG_PROOF_HEADER, error: /missing header line/ },
    { note: 'missing index', text: `${TLOG_PROOF_HEADER}\n${good}\n\n${note}`, error: /is not "index"/ },
    { note: 'index with leading zero', text: `${TLOG_PROOF_HEADER}\nindex 05\n${good}\n\n${note}`, error: /"index 05" is not "index"/ },
    { note: 'negative index', text: `${TLOG_PROOF_HEADER}\nindex -1\n${good}\n\n${note}`, error: /"index -1"/ },
    { note: 'two spaces', text: `${TLOG_PROOF_HEADER}\nindex  5\n${good}\n\n${note}`, error: /"index {2}5"/ },
    { note: 'index past the size', text: `${TLOG_PROOF_HEADER}\nindex 15\n${good}\n\n${note}`, error: /index 15 is not below the checkpoint size 15/ },
    { note: 'extra not base64', text: `${TLOG_PROOF_HEADER}\nextra !!\nindex 5\n${good}\n\n${note}`, error: /extra line/ },
    { note: 'extra empty', text: `${TLOG_PROOF_HEADER}\nextra \nindex 5\n${good}\n\n${note}`, error: /extra line/ },
    { note: 'extra without space', text: `${TLOG_PROOF_HEADER}\nextraAAAA\nindex 5\n${good}\n\n${note}`, error: /extra line/ },
    { note: 'extra after index', text: `${TLOG_PROOF_HEADER}\nindex 5\nextra AAAA\n${good}\n\n${note}`, error: /proof line 1 is not a base64 SHA-256 hash/ },
    {
      note: 'short hash',
      text: `${TLOG_PROOF_HEADER}\nindex 5\n${h(0)}\n${h(1)}\n${h(2)}\nAAAA\n\n${note}`,
      error: /proof line 4 is not a base64 SHA-256 hash/,
    },
    {
      note: 'too few hashes',
      text: `${TLOG_PROOF_HEADER}\nindex 5\n${h(0)}\n${h(1)}\n${h(2)}\n\n${note}`,
      error: /3 proof hashes, but leaf 5 of a tree of 15 needs 4/,
    },
    { note: 'too many hashes', text: `${TLOG_PROOF_HEADER}\nindex 5\n${good}\n${h(4)}\n\n${note}`, error: /5 proof hashes/ },
    { note: 'no blank line', text: `${TLOG_PROOF_HEADER}\nindex 5\n${good}\n${note}`, error: /proof line 5 is not a base64 SHA-256 hash/ },
    { note: 'nothing after the proof', text: `${TLOG_PROOF_HEADER}\nindex 5\n${good}\n`, error: /missing empty line before the checkpoint/ },
    { note: 'unsigned checkpoint', text: `${TLOG_PROOF_HEADER}\nindex 5\n${good}\n\n${parseNote(note).text}`, error: /checkpoint: malformed note/ },
    { note: 'junk after the note', text: `${TLOG_PROOF_HEADER}\nindex 5\n${good}\n\n${note}junk\n`, error: /checkpoint: malformed note/ },
    { note: 'CRLF', text: `${TLOG_PROOF_HEADER}\r\nindex 5\r\n${good}\n\n${note}`, error: /first line/ },
    {
      note: 'bad checkpoint body',
      text: `${TLOG_PROOF_HEADER}\nindex 0\n\n${signNote('o\nx\ny\n', [parseSignerKey(TESSERA_SKEY)])}`,
      error: /checkpoint: malformed checkpoint: tree size "x"/,
    },
  ];
  for (const c of cases) assert.throws(() => parseTlogProof(c.text), isNoteError('log.bad_proof', c.error), c.note);
  assert.throws(() => parseTlogProof(Buffer.from([0xff, 0x0a])), isNoteError('log.bad_proof', /not valid UTF-8/));
  assert.throws(
    () => formatTlogProof({ index: 5, proof: [Buffer.alloc(31)], checkpointNote: note }),
    isNoteError('log.bad_proof', /proof hash 0 has 31 bytes/),
  );
  assert.throws(
    () => formatTlogProof({ index: 5, proof: [], checkpointNote: note, extra: Buffer.alloc(0) }),
    isNoteError('log.bad_proof', /extra data is empty/),
  );
  assert.throws(() => formatTlogProof({ index: -1, proof: [], checkpointNote: note }), isNoteError('log.bad_proof', /index -1/));
  console.log(`tlog-proof: ${cases.length + 1} malformed proofs rejected`);
  assert.equal(cases.length, 20);
});
