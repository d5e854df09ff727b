// Signed notes, note keys and cosignature/v1 against the published vectors (golang.org/x/mod, C2SP,
// transparency-dev/formats, Sunlight's skylight witnesses), plus hostile input that must never crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../shared/random.js';
import {
  NoteError,
  addSignatures,
  cosign,
  cosignatureTime,
  createSigner,
  generateSignerKey,
  generateWitnessKey,
  keyId,
  keyLabel,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  parseWitnessKey,
  signNote,
  verifyNote,
  type NoteSignature,
} from './note.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/transparency', import.meta.url));
const SUNLIGHT = join(FIXTURES, 'cosignature/sunlight-skylight');

interface Vectors {
  keys: { name: string; vkey: string; skey: string | null; type: string; key_id: string }[];
  valid_notes: {
    desc: string;
    text: string;
    message: string;
    message_b64: string;
    verifiers: string[];
    want_verified: string[];
    want_unverified: string[];
  }[];
  error_cases: { desc: string; message_b64: string; verifiers: string[]; want_error: string }[];
  bad_vkeys: { vkey: string; why: string }[];
  cosignature_vectors: { desc?: string; signature_b64?: string; want_timestamp?: number; want_error?: boolean }[];
}

const vectors = JSON.parse(readFileSync(join(FIXTURES, 'signed-note/vectors.json'), 'utf8')) as Vectors;
const labels = (sigs: readonly NoteSignature[]): string[] => sigs.map((s) => keyLabel(s.name, s.keyId));
const isNoteError = (code: string) => (err: unknown) => err instanceof NoteError && err.code === code;

// What each want_error of the vectors means here.
const WANT_CODE: Record<string, string> = {
  'no verifiable signatures': 'log.untrusted_note',
  'invalid signature for key PeterNeumann+c74f20a3': 'log.bad_signature',
  'malformed note': 'log.bad_note',
};

const PETER = vectors.keys.find((k) => k.name === 'PeterNeumann')!;
const QUOTE = vectors.valid_notes[0]!;

test('signed-note vectors: every valid note, error case, bad key, signing key and timestamp as expected', () => {
  let keys = 0;
  for (const k of vectors.keys) {
    const v = parseVerifierKey(k.vkey);
    assert.equal(v.name, k.name);
    assert.equal(v.keyId.toString('hex'), k.key_id);
    assert.equal(v.type, parseInt(k.type, 16));
    assert.deepEqual(keyId(v.name, v.type, v.publicKey).toString('hex'), k.key_id);
    assert.equal(v.vkey, k.vkey);
    keys += 1;
  }

  let valid = 0;
  for (const c of vectors.valid_notes) {
    const bytes = Buffer.from(c.message_b64, 'base64');
    assert.equal(bytes.toString('utf8'), c.message, c.desc);
    const note = parseNote(bytes);
    assert.equal(note.text, c.text, c.desc);
    const r = verifyNote(note, c.verifiers.map(parseVerifierKey));
    assert.equal(r.text, c.text, c.desc);
    assert.deepEqual(labels(r.verified), c.want_verified, c.desc);
    assert.deepEqual(labels(r.unverified), c.want_unverified, c.desc);
    // The same from the string form.
    assert.deepEqual(labels(verifyNote(c.message, c.verifiers.map(parseVerifierKey)).verified), c.want_verified, c.desc);
    valid += 1;
  }

  let rejected = 0;
  for (const c of vectors.error_cases) {
    const code = WANT_CODE[c.want_error];
    assert.ok(code, `unmapped want_error ${c.want_error}`);
    const verifiers = c.verifiers.map(parseVerifierKey);
    assert.throws(() => verifyNote(Buffer.from(c.message_b64, 'base64'), verifiers), isNoteError(code), c.desc);
    if (code === 'log.bad_signature') {
      assert.throws(() => verifyNote(Buffer.from(c.message_b64, 'base64'), verifiers), /invalid signature for key PeterNeumann\+c74f20a3/);
    }
    rejected += 1;
  }

  let badKeys = 0;
  for (const c of vectors.bad_vkeys) {
    assert.throws(
      () => parseVerifierKey(c.vkey),
      (err: unknown) => {
        assert.ok(err instanceof NoteError && err.code === 'log.bad_key', c.why);
        assert.match(
          err.message,
          /^vkey .+: (key is not standard base64|unsupported key type 0x(65|03) .*|key ID c74f20a4 does not match the key \(want c74f20a3\))$/,
        );
        return true;
      },
      c.why,
    );
    badKeys += 1;
  }

  // Each published private key re-signs a note it published, byte for byte: Peter's quote, and the
  // Tessera test log's latest checkpoint.
  const published = new Map([
    [PETER.name, QUOTE.message],
    ['example.com/log/testdata', readFileSync(join(FIXTURES, 'tlog-tiles/tessera-testdata-log/checkpoint'), 'utf8')],
  ]);
  let resigned = 0;
  for (const k of vectors.keys.filter((k) => k.skey !== null)) {
    const signer = parseSignerKey(k.skey!);
    assert.equal(signer.vkey, k.vkey);
    assert.equal(signer.keyId.toString('hex'), k.key_id);
    const message = published.get(k.name);
    assert.ok(message, `a published note by ${k.name}`);
    assert.equal(signNote(parseNote(message).text, [signer]), message, k.name);
    resigned += 1;
  }

  let timestamps = 0;
  for (const c of vectors.cosignature_vectors.filter((c) => c.signature_b64 !== undefined)) {
    const sig = Buffer.from(c.signature_b64!, 'base64').subarray(4);
    if (c.want_error) assert.throws(() => cosignatureTime(sig), isNoteError('log.bad_signature'), c.desc);
    else assert.equal(cosignatureTime(sig), c.want_timestamp, c.desc);
    timestamps += 1;
  }

  console.log(
    `signed-note: ${keys} keys, ${valid} valid, ${rejected} rejected notes, ${badKeys} bad keys, ` +
      `${resigned} signing keys re-sign byte for byte, ${timestamps} cosignature timestamps — all as expected`,
  );
  assert.deepEqual(
    [keys, valid, rejected, badKeys, resigned, timestamps],
    [vectors.keys.length, vectors.valid_notes.length, vectors.error_cases.length, vectors.bad_vkeys.length, 2, 2],
  );
  assert.deepEqual([keys, valid, rejected, badKeys], [5, 5, 10, 4], 'the vector file is the one we expect');
});

test('addSignatures rebuilds the published two-signature note from the one-signature note', () => {
  const two = vectors.valid_notes[1]!;
  const enochLine = two.message.split('\n').find((l) => l.includes('EnochRoot'))!;
  const one = signNote(two.text, [parseSignerKey(PETER.skey!)]);
  assert.equal(addSignatures(one, [enochLine]), two.message);
  assert.equal(addSignatures(one, [`${enochLine}\n`, enochLine]), two.message, 'exact duplicates are dropped');
  assert.equal(addSignatures(two.message, [enochLine]), two.message);
  const forged = enochLine.replace('rwz+eBzm', 'rwz+eBzn');
  assert.throws(() => addSignatures(two.message, [forged]), /already has a different signature by EnochRoot\+af0cfe78/);
  assert.throws(() => addSignatures(one, ['— Bad Name AAAAAAA=']), isNoteError('log.bad_note'));
  assert.throws(() => addSignatures(one, [`${enochLine}\n— x AAAAAAA=`]), /contains a newline/);
});

test('key strings: generate, parse, sign and verify; names and IDs are checked; secrets are not echoed', () => {
  const { skey, vkey } = generateSignerKey('log.example/cordon');
  assert.match(skey, /^PRIVATE\+KEY\+log\.example\/cordon\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$/);
  const signer = parseSignerKey(skey);
  assert.equal(signer.vkey, vkey);
  assert.deepEqual(JSON.parse(JSON.stringify(signer)), { name: 'log.example/cordon', vkey });
  const note = signNote('hello\n', [signer]);
  assert.deepEqual(labels(verifyNote(note, [parseVerifierKey(vkey)]).verified), [keyLabel(signer.name, signer.keyId)]);

  const w = generateWitnessKey('witness.example/w1');
  assert.match(w.skey, /^PRIVATE\+KEY\+witness\.example\/w1\+[0-9a-f]{8}\+B[A-Za-z0-9+/]{43}$/);
  assert.match(w.vkey, /^witness\.example\/w1\+[0-9a-f]{8}\+B/);
  const witness = parseWitnessKey(w.skey);
  assert.equal(witness.type, 0x04);
  assert.equal(parseVerifierKey(w.vkey).type, 0x04);
  assert.throws(() => parseWitnessKey(skey), /a witness key must have type 0x04, not 0x01/);
  assert.throws(() => signNote('hello\n', [witness]), /cosignature keys sign with cosign\(\)/);
  assert.throws(() => cosign('hello\n', signer, 1), /cosignatures need a 0x04 key/);

  const seed = Buffer.alloc(32, 7);
  const cases: { note: string; run: () => unknown; error: RegExp }[] = [
    { note: 'no separators', run: () => parseVerifierKey('PeterNeumann'), error: /expected name\+keyid\+base64key/ },
    { note: 'empty name', run: () => parseVerifierKey('+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'), error: /key name is empty/ },
    {
      note: 'space in name',
      run: () => parseVerifierKey('Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'),
      error: /key name contains a space/,
    },
    {
      note: 'no-break space in name',
      run: () => parseVerifierKey('Peter\u00a0Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'),
      error: /contains a space/,
    },
    { note: 'uppercase key ID', run: () => parseVerifierKey('PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'), error: /8 lowercase hex/ },
    { note: 'short key ID', run: () => parseVerifierKey('PeterNeumann+c74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'), error: /8 lowercase hex/ },
    {
      note: 'URL-safe base64',
      run: () => parseVerifierKey('PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq_LDE4izWy10TW'),
      error: /not standard base64/,
    },
    { note: 'empty key', run: () => parseVerifierKey('PeterNeumann+c74f20a3+'), error: /not standard base64/ },
    { note: 'skey without prefix', run: () => parseSignerKey(PETER.skey!.slice('PRIVATE+'.length)), error: /must start with PRIVATE\+KEY\+/ },
    {
      note: 'skey with wrong key ID',
      run: () => parseSignerKey(PETER.skey!.replace('c74f20a3', 'c74f20a4')),
      error: /^skey PeterNeumann: key ID c74f20a4 does not match the key$/,
    },
    { note: 'skey with short seed', run: () => parseSignerKey('PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr'), error: /seed must be 32 bytes/ },
    { note: 'signer name with +', run: () => createSigner('a+b', seed), error: /contains "\+"/ },
    { note: 'signer of type 0x05', run: () => createSigner('a', seed, 0x05), error: /unsupported key type 0x05/ },
  ];
  for (const c of cases) assert.throws(c.run, (err: unknown) => err instanceof NoteError && err.code === 'log.bad_key' && c.error.test(err.message), c.note);
  // The secret half never appears in an error message.
  const secret = PETER.skey!.split('+').pop()!;
  try {
    parseSignerKey(PETER.skey!.replace('c74f20a3', 'c74f20a4'));
  } catch (err) {
    assert.ok(!(err as Error).message.includes(secret));
  }
});

test('notes: strict parsing and verification rules, each with the reason', () => {
  const peter = parseSignerKey(PETER.skey!);
  const peterV = parseVerifierKey(PETER.vkey);
  const sigLine = QUOTE.message.slice(QUOTE.text.length + 1);
  const b64 = sigLine.slice('— PeterNeumann '.length, -1);
  const cases: { note: string; message: string; error: RegExp }[] = [
    { note: 'hyphen instead of em dash', message: `${QUOTE.text}\n- PeterNeumann ${b64}\n`, error: /does not start with "— "/ },
    { note: 'two spaces after the name', message: `${QUOTE.text}\n— PeterNeumann  ${b64}\n`, error: /not standard base64/ },
    { note: 'no signature after the name', message: `${QUOTE.text}\n— PeterNeumann\n`, error: /no space between key name and signature/ },
    { note: 'empty key name', message: `${QUOTE.text}\n—  ${b64}\n`, error: /key name is empty/ },
    { note: 'plus in key name', message: `${QUOTE.text}\n— Peter+Neumann ${b64}\n`, error: /contains "\+"/ },
    { note: 'signature of 4 bytes (a key ID alone)', message: `${QUOTE.text}\n— PeterNeumann x08gow==\n`, error: /shorter than a key ID and one byte/ },
    { note: 'non-canonical base64 padding bits', message: `${QUOTE.text}\n— PeterNeumann ${b64.replace(/M=$/, 'N=')}\n`, error: /not standard base64/ },
    { note: 'CRLF line ends', message: QUOTE.message.replace(/\n/g, '\r\n'), error: /control character U\+000D/ },
    { note: 'tab in the text', message: `a\tb\n\n${sigLine}`, error: /control character U\+0009/ },
    { note: 'empty signature block line', message: `${QUOTE.message}\n`, error: /no signature lines|does not start/ },
    { note: 'lone surrogate in a string', message: `a\ud800\n\n${sigLine}`, error: /not valid UTF-8/ },
    { note: 'empty input', message: '', error: /no blank line/ },
  ];
  for (const c of cases) {
    assert.throws(
      () => parseNote(c.message),
      (err: unknown) => err instanceof NoteError && err.code === 'log.bad_note' && c.error.test(err.message),
      c.note,
    );
  }
  assert.throws(() => parseNote(Buffer.alloc(1_000_001, 0x61)), /longer than 1000000 bytes/);
  assert.throws(() => signNote('no newline', [peter]), /must end in a newline/);
  assert.throws(() => signNote('bell\u0007\n', [peter]), /control character U\+0007/);
  assert.throws(() => signNote('x\n', []), isNoteError('log.bad_key'));

  // Text may hold empty lines; the last blank line separates it from the signatures.
  const poem = 'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n';
  const signed = signNote(poem, [peter]);
  assert.equal(parseNote(signed).text, poem);
  assert.equal(verifyNote(signed, [peterV]).text, poem);
  // A BOM is not a control character and is kept, not stripped.
  assert.equal(verifyNote(Buffer.from(signNote('\ufeffhi\n', [peter])), [peterV]).text, '\ufeffhi\n');

  // A key sharing the name but not the ID (or the ID but not the name) is someone else: ignored.
  const otherPeter = createSigner('PeterNeumann', Buffer.alloc(32, 1));
  assert.throws(() => verifyNote(QUOTE.message, [parseVerifierKey(otherPeter.vkey)]), isNoteError('log.untrusted_note'));
  // A failing signature by a known key rejects the note even when another known key verifies.
  const forged = `${QUOTE.message}— PeterNeumann ${Buffer.concat([peter.keyId, Buffer.alloc(64)]).toString('base64')}\n`;
  assert.throws(() => verifyNote(forged, [peterV]), isNoteError('log.bad_signature'));
  // Two different keys under one name+ID is a configuration error.
  const clash = { ...peterV, publicKey: Buffer.alloc(32) };
  assert.throws(() => verifyNote(QUOTE.message, [peterV, clash]), /two different verifier keys are both named PeterNeumann\+c74f20a3/);
});

test('at least 16 signatures are accepted, 100 too, 101 are not', () => {
  const signers = Array.from({ length: 101 }, (_, i) => createSigner(`signer${i}.example`, createHash('sha256').update(`seed ${i}`).digest()));
  const verifiers = signers.map((s) => parseVerifierKey(s.vkey));
  for (const n of [16, 100]) {
    const note = signNote('many\n', signers.slice(0, n));
    assert.equal(verifyNote(note, verifiers).verified.length, n);
  }
  assert.throws(() => signNote('many\n', signers), isNoteError('log.bad_note'));
  const hundred = signNote('many\n', signers.slice(0, 100));
  assert.throws(() => addSignatures(hundred, [signNote('many\n', [signers[100]!]).slice('many\n\n'.length)]), /101 signatures, more than 100/);
});

test('sunlight cosignatures: keys from their seeds, cosignatures verify and re-sign byte for byte', () => {
  const TIME = 1767139200;
  const witnesses = [
    {
      file: 'witness-rome2026h1.checkpoint',
      json: 'witness.v0.json',
      name: 'witness.example.org',
      seed: 'skylight test witness key',
      others: ['rome2026h1.example.org+91507526'],
    },
    { file: 'witness2-milan2026h1.checkpoint', json: 'witness2.v0.json', name: 'witness2.example.org', seed: 'skylight test witness2 key', others: [] },
  ];
  let checked = 0;
  for (const w of witnesses) {
    const published = (JSON.parse(readFileSync(join(SUNLIGHT, w.json), 'utf8')) as { verifier_keys: string[] }).verifier_keys[0]!;
    const signer = createSigner(w.name, createHash('sha256').update(w.seed).digest(), 0x04);
    assert.equal(signer.vkey, published);
    const verifier = parseVerifierKey(published);
    assert.equal(verifier.type, 0x04);

    const file = readFileSync(join(SUNLIGHT, w.file), 'utf8');
    const note = parseNote(file);
    const r = verifyNote(note, [verifier]);
    assert.deepEqual(labels(r.verified), [keyLabel(w.name, verifier.keyId)]);
    assert.equal(r.verified[0]!.time, TIME);
    assert.deepEqual(labels(r.unverified), w.others, 'the RFC 6962 (0x05) log signature is ignored, not an error');

    const line = cosign(note.text, signer, TIME);
    assert.ok(file.endsWith(line), `${w.file}: cosignature reproduced byte for byte`);
    assert.equal(`${note.text}\n${note.signatures.map((s) => `— ${s.name} ${Buffer.concat([s.keyId, s.sig]).toString('base64')}\n`).join('')}`, file);
    const withoutCosig = file.slice(0, -line.length);
    if (w.others.length > 0) assert.equal(addSignatures(withoutCosig, [line]), file);

    // Another time, another checkpoint text, or a changed timestamp do not verify.
    assert.equal(verifyNote(`${note.text}\n${cosign(note.text, signer, TIME + 1)}`, [verifier]).verified[0]!.time, TIME + 1);
    const moved = Buffer.from(note.signatures.at(-1)!.sig);
    moved.writeBigUInt64BE(BigInt(TIME + 1), 0);
    assert.equal(verifier.verify(note.text, moved), false);
    assert.equal(verifier.verify(note.text.replace('\n300\n', '\n301\n'), note.signatures.at(-1)!.sig), false);
    assert.throws(() => verifyNote(file.replace('\n300\n', '\n301\n'), [verifier]), isNoteError('log.bad_signature'));
    checked += 1;
  }

  const sth = parseNote(readFileSync(join(SUNLIGHT, 'log-rome2026h1-rfc6962-sth.checkpoint')));
  assert.deepEqual(labels(sth.signatures), ['rome2026h1.example.org+91507526']);
  const witnessV = parseVerifierKey('witness.example.org+b8a2cf20+BFLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN');
  assert.throws(() => verifyNote(sth, [witnessV]), isNoteError('log.untrusted_note'));
  // A 0x01 key under the log's name has another key ID, so the 0x05 signature stays unknown.
  const sameName = createSigner('rome2026h1.example.org', Buffer.alloc(32, 9));
  assert.throws(() => verifyNote(sth, [parseVerifierKey(sameName.vkey)]), isNoteError('log.untrusted_note'));
  console.log(`cosignature/v1: ${checked} sunlight witness cosignatures verified and reproduced byte for byte; 0x05 STH signature ignored`);
  assert.equal(checked, 2);
});

test('hostile input: garbage, truncations and byte flips only ever raise NoteError', () => {
  const rand = mulberry32(20260101);
  const verifiers = [PETER.vkey, vectors.keys[1]!.vkey].map(parseVerifierKey);
  const alphabet = Buffer.from('\n\n\n  —\u2014+/=AaZz09xX\u00e9\t\r\u0000\u00ff', 'utf8');
  const attempt = (input: Buffer): 'ok' | 'rejected' => {
    try {
      verifyNote(input, verifiers);
      return 'ok';
    } catch (err) {
      if (!(err instanceof NoteError)) throw err;
      return 'rejected';
    }
  };
  const seen = { ok: 0, rejected: 0 };
  for (let i = 0; i < 3000; i++) {
    const len = Math.floor(rand() * 200);
    const buf = Buffer.alloc(len);
    for (let j = 0; j < len; j++) buf[j] = rand() < 0.5 ? alphabet[Math.floor(rand() * alphabet.length)]! : Math.floor(rand() * 256);
    seen[attempt(buf)] += 1;
  }
  assert.equal(seen.ok, 0, 'random bytes never carry a valid signature');

  // Every proper prefix of a one-signature note is rejected; of the two-signature note, exactly the
  // prefix ending after Peter's line still verifies.
  const one = Buffer.from(QUOTE.message);
  for (let n = 0; n < one.length; n++) assert.equal(attempt(one.subarray(0, n)), 'rejected', `prefix ${n}`);
  const two = Buffer.from(vectors.valid_notes[1]!.message);
  const okPrefixes: number[] = [];
  for (let n = 0; n < two.length; n++) if (attempt(two.subarray(0, n)) === 'ok') okPrefixes.push(n);
  assert.deepEqual(okPrefixes, [one.length]);

  // Changing any single byte of a signed note makes it fail.
  for (let i = 0; i < one.length; i++) {
    const flipped = Buffer.from(one);
    flipped[i] = flipped[i]! ^ (1 + Math.floor(rand() * 255));
    assert.equal(attempt(flipped), 'rejected', `byte ${i} changed`);
  }
  console.log(`hostile notes: ${seen.rejected} random, ${one.length + two.length - 1} truncated and ${one.length} altered notes rejected without a crash`);
});
