// The corpus of broken policies: every folder under test/fixtures/broken-policies/ is a policy
// directory with one defect (or a few), and its expected.txt lists exactly the errors loadPolicy must
// report, in the order it reports them:
//
//   # note: what this case is about
//   file:line:col code
//   file:line:col code ~ text the message must contain
//
// Lines starting with # are comments; the first line is the case's note.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue, loadPolicy } from '../src/policy/index.js';
import { isErrorCode } from '../src/shared/errors.js';
import { FIXTURES } from './helpers/paths.js';

const CORPUS = join(FIXTURES, 'broken-policies');
const EXPECTED_FILE = 'expected.txt';
const NOTE = '# note: ';
const MIN_CASES = 30;

interface ExpectedLine {
  /** `file:line:col code` */
  readonly where: string;
  /** Text the issue's message must contain, if given (` ~ text`). */
  readonly contains: string | undefined;
}

interface Expected {
  readonly note: string;
  readonly lines: ExpectedLine[];
}

const LINE = /^(\S+:\d+:\d+ (\S+))(?: ~ (.+))?$/;

function readExpected(dir: string): Expected {
  const text = readFileSync(join(dir, EXPECTED_FILE), 'utf8');
  const raw = text.split('\n').map((l) => l.trimEnd());
  const first = raw[0] ?? '';
  assert.ok(first.startsWith(NOTE), `${EXPECTED_FILE} must start with "${NOTE}…", got ${JSON.stringify(first)}`);
  const note = first.slice(NOTE.length).trim();
  assert.ok(note.length > 0, `${EXPECTED_FILE}: the note is empty`);
  const lines: ExpectedLine[] = [];
  for (const l of raw) {
    if (l === '' || l.startsWith('#')) continue;
    const m = LINE.exec(l);
    assert.ok(m, `${EXPECTED_FILE}: not "file:line:col code [~ text]": ${JSON.stringify(l)}`);
    assert.ok(isErrorCode(m[2]!), `${EXPECTED_FILE}: ${m[2]} is not a code in src/shared/errors.ts`);
    lines.push({ where: m[1]!, contains: m[3] });
  }
  assert.ok(lines.length > 0, `${EXPECTED_FILE} lists no errors`);
  return { note, lines };
}

/** The case's note for its test name; never throws (readExpected reports a bad file in the case's own test). */
function noteOf(dir: string): string {
  const file = join(dir, EXPECTED_FILE);
  if (!existsSync(file)) return `(no ${EXPECTED_FILE})`;
  const first = readFileSync(file, 'utf8').split('\n')[0] ?? '';
  return first.startsWith(NOTE) ? first.slice(NOTE.length).trim() : '(no note)';
}

const cases = readdirSync(CORPUS, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

test(`the broken-policy corpus has at least ${MIN_CASES} cases, each with an ${EXPECTED_FILE}`, () => {
  assert.ok(cases.length >= MIN_CASES, `only ${cases.length} cases under ${CORPUS}`);
  const without = cases.filter((c) => !existsSync(join(CORPUS, c, EXPECTED_FILE)));
  assert.deepEqual(without, [], `case folders without ${EXPECTED_FILE}`);
});

test('every broken policy yields exactly its expected errors and loads nothing', async (t) => {
  for (const name of cases) {
    const dir = join(CORPUS, name);
    await t.test(`${name}: ${noteOf(dir)}`, (st) => {
      const expected = readExpected(dir);
      const r = loadPolicy(dir);
      const got = r.issues.map((i) => `${i.file}:${i.line}:${i.col} ${i.code}`);
      if (JSON.stringify(got) !== JSON.stringify(expected.lines.map((l) => l.where))) {
        st.diagnostic(`loadPolicy said${r.ok ? ' (ok: true)' : ''}:`);
        for (const i of r.issues) st.diagnostic(`  ${formatIssue(i)}`);
        if (r.issues.length === 0) st.diagnostic('  (no issues)');
      }
      assert.equal(r.ok, false, 'the policy loaded although it is broken');
      assert.equal('policy' in r, false, 'a broken policy must load nothing (no partial policy)');
      assert.deepEqual(
        got,
        expected.lines.map((l) => l.where),
      );
      expected.lines.forEach((l, k) => {
        if (l.contains === undefined) return;
        const message = r.issues[k]!.message;
        assert.ok(message.includes(l.contains), `${l.where}: message ${JSON.stringify(message)} does not contain ${JSON.stringify(l.contains)}`);
      });
    });
  }
});
