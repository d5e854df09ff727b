// Bad input, each case beside a good file, through the real command: the problem names its file and
// where in it, the scan goes on (the good file and what follows the bad part are still scanned),
// and the exit code says a target failed (2: not scannable as what it is; 3: unreadable).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execFile } from 'node:child_process';
import type { ScanResultV1 } from '../src/scan/index.js';
import { firstInvalidUtf8 } from '../src/scan/file-scan.js';
import { mulberry32 } from '../src/shared/random.js';
import { CLI } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

const GOOD = 'contact a.b@example.com\n';
const MB10 = 10 * 1024 * 1024;

interface Case {
  readonly name: string;
  readonly file: string;
  readonly write: (path: string) => void;
  readonly exit: number;
  readonly problem: string;
  /** Findings (file:line:column) besides the good file's. */
  readonly findings: readonly string[];
}

const CASES: readonly Case[] = [
  {
    name: 'a binary file',
    file: 'archive.bin',
    write: (p) => writeFileSync(p, Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 0x61, 0x40, 0x62])),
    exit: 2,
    problem: 'scan.binary binary file (NUL bytes); not scanned',
    findings: [],
  },
  {
    name: 'invalid UTF-8',
    file: 'latin1.txt',
    write: (p) => writeFileSync(p, Buffer.concat([Buffer.from('ok\n'), Buffer.from('caf\xe9\n', 'latin1'), Buffer.from(GOOD)])),
    exit: 2,
    problem: 'scan.invalid_encoding invalid UTF-8 at line 2; invalid bytes were scanned as U+FFFD',
    findings: ['latin1.txt:3:9'],
  },
  {
    name: 'a CSV with ragged rows',
    file: 'ragged.csv',
    write: (p) => writeFileSync(p, 'name,email\nann,a.b@example.com\nbob\ncy,c.d@example.org,extra\ndee,e.f@example.net\n'),
    exit: 2,
    problem: 'scan.malformed 2 row(s) with a different number of fields than the header (first at line 3); scanned as text',
    findings: ['ragged.csv:2:5 [email]', 'ragged.csv:4:4 [email]', 'ragged.csv:5:5 [email]'],
  },
  {
    name: 'a CSV with a 10 MB line',
    file: 'long.csv',
    write: (p) => writeFileSync(p, `name,note\nann,${'x'.repeat(MB10)} a.b@example.com\nbob,c.d@example.org\n`),
    exit: 2,
    problem: 'scan.malformed 1 line(s) longer than 4 MiB (first at line 2); scanned as text in pieces of that size, without their CSV fields',
    findings: [`long.csv:2:${4 + MB10 + 2}`, 'long.csv:3:5 [note]'],
  },
  {
    name: 'NDJSON with a broken line',
    file: 'events.ndjson',
    write: (p) => writeFileSync(p, '{"email":"a.b@example.com"}\n{"email": "c.d@exa\n{"email":"e.f@example.net"}\n'),
    exit: 2,
    problem: 'scan.malformed 1 line(s) that are not JSON (first at line 2); scanned as text',
    findings: ['events.ndjson:1:11 [email]', 'events.ndjson:3:11 [email]'],
  },
  {
    name: 'an unreadable file (a link to nothing)',
    file: 'gone.csv',
    write: (p) => symlinkSync(join(p, '..', 'no-such-file'), p),
    exit: 3,
    problem: 'scan.unreadable cannot read: ENOENT',
    findings: [],
  },
];

function run(args: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((done) =>
    execFile(process.execPath, [CLI, ...args], { maxBuffer: 64 << 20, encoding: 'utf8' }, (err, stdout, stderr) =>
      done({ status: err ? Number(err.code) : 0, stdout, stderr }),
    ),
  );
}

describe('bad input is reported per target with its position; the scan goes on', () => {
  let root: string;
  before(() => {
    root = tempDir('cordon-scan-bad-');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  for (const c of CASES) {
    test(c.name, async () => {
      const dir = join(root, c.file.replace(/\W/g, '-'));
      mkdirSync(dir);
      writeFileSync(join(dir, 'a-good.txt'), GOOD);
      c.write(join(dir, c.file));
      const r = await run(['scan', dir, '--json']);
      assert.equal(r.status, c.exit, r.stderr);
      const j = JSON.parse(r.stdout) as ScanResultV1;
      assert.deepEqual(
        j.problems.map((p) => `${relative(dir, p.target)} ${p.code} ${p.message}`),
        [`${c.file} ${c.problem}`],
      );
      assert.equal(j.complete, false);
      assert.deepEqual(
        j.findings.map((f) =>
          f.where.kind === 'file' ? `${relative(dir, f.where.file)}:${f.where.line}:${f.where.column}${f.where.field ? ` [${f.where.field}]` : ''}` : '',
        ),
        ['a-good.txt:1:9', ...c.findings],
      );
      // The command says which target failed, and how many problems there were.
      assert.match(r.stderr, new RegExp(`^cordon: scan incomplete: ${c.problem.split(' ')[0]!.replace('.', '\\.')}: .*${c.file}: `));
      // No value in any output.
      assert.equal(/[a-f]\.[b-f]@example|c\.d@exa/.test(r.stdout.replace(/"sample":"[^"]*"/g, '') + r.stderr), false);
    });
  }

  test('an unreadable file and a binary one: 3 wins, and both are listed', async () => {
    const dir = join(root, 'both');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a-good.txt'), GOOD);
    writeFileSync(join(dir, 'b.bin'), Buffer.from([0, 1, 2]));
    symlinkSync(join(dir, 'nothing'), join(dir, 'c-gone.txt'));
    const r = await run(['scan', dir]);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /scan incomplete: scan\.unreadable: .*c-gone\.txt: cannot read: ENOENT \(and 1 more problem\(s\)\)/);
    assert.match(r.stdout, /problem {3}.*b\.bin: scan\.binary/);
  });
});

test('the first invalid UTF-8 byte is where a strict decoder stops (random bytes, seeded)', () => {
  const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
  console.log(`seed ${seed} (SEED=${seed} repeats it)`);
  const rand = mulberry32(seed);
  // Mostly ASCII and UTF-8 lead and continuation bytes, so that valid sequences occur often.
  const pool = [0x41, 0x0a, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
  for (let n = 0; n < 20_000; n++) {
    const b = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 8) }, () => pool[Math.floor(rand() * pool.length)]!));
    const at = firstInvalidUtf8(b);
    const strict = (x: Uint8Array) => {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(x, { stream: true });
        return true;
      } catch {
        return false;
      }
    };
    const hex = b.toString('hex');
    if (at === -1) assert.ok(strict(b), `${hex}: valid (or cut at the end) by firstInvalidUtf8, not by TextDecoder`);
    else {
      assert.ok(!strict(b), `${hex}: invalid at ${at}, but TextDecoder decodes it`);
      assert.ok(strict(b.subarray(0, at)), `${hex}: the bytes before ${at} do not decode`);
      assert.ok(!strict(b.subarray(0, at + 4)) || at + 4 > b.length, `${hex}: no invalid byte within ${at}..${at + 3}`);
    }
  }
});
