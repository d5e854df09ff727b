// The package as a user gets it: `npm pack`, installed into a fresh folder, imported by name. Its
// root and every module's subpath resolve, with type declarations that tsc checks against.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

const TSC = join(ROOT, 'node_modules/.bin/tsc');

function run(cmd: string, args: readonly string[], cwd: string): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
  });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

const GOOD = `import { loadPolicy, createDecider, CordonError, LADDER, type Policy } from 'cordon';
import { openStore } from 'cordon/store';
import { verifyInclusion } from 'cordon/log';
import { planMigration } from 'cordon/migrate';

const dir = decodeURIComponent(new URL('../node_modules/cordon/policies/demo', import.meta.url).pathname);
const loaded = loadPolicy(dir);
if (!loaded.ok) throw new CordonError('usage.invalid_argument', 'the packaged demo policy does not load');
const policy: Policy = loaded.policy;
const decider = createDecider(policy);
const d = decider.decide({ principal: 'beijing-engineer', action: 'read', dataset: 'users', record: { uid: 'u', country: 'US', phone_number: 'p' }, context: { country: 'CN' } });
const steps: number = LADDER.length;
console.log(JSON.stringify({ datasets: [...policy.datasets.keys()].sort(), phone: d.fields.find((f) => f.field === 'phone_number')?.disclosure, steps, fns: [typeof openStore, typeof verifyInclusion, typeof planMigration] }));
`;

test('npm pack, installed in a fresh folder: import { loadPolicy } from "cordon" type-checks and runs', (t) => {
  const dir = tempDir('cordon-pack-');
  const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT);
  t.diagnostic(`npm pack: exit ${packed.status}`);
  assert.equal(packed.status, 0, packed.out);
  const info = JSON.parse(packed.out.slice(packed.out.indexOf('['), packed.out.lastIndexOf(']') + 1)) as { filename: string; files: { path: string }[] }[];
  const files = info[0]!.files.map((f) => f.path);
  assert.ok(files.includes('dist/src/index.d.ts') && files.includes('dist/src/policy/index.d.ts'), 'declarations are packed');
  assert.deepEqual(
    files.filter((f) => /\.test\.|^test\/|^src\/(?!policy\/data)/.test(f)),
    [],
    'no tests and no TypeScript sources are packed',
  );
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, types: [], outDir: 'out' },
      include: ['main.ts'],
    }),
  );
  writeFileSync(join(app, 'main.ts'), GOOD);
  // Installed as npm would lay it out, with the dependencies this checkout's lockfile installed
  // (npm install would fetch their metadata from the registry: minutes, and a network in the test).
  const modules = join(app, 'node_modules');
  mkdirSync(join(modules, 'cordon'), { recursive: true });
  const untar = run('tar', ['-xzf', join(dir, info[0]!.filename), '-C', join(modules, 'cordon'), '--strip-components=1'], app);
  assert.equal(untar.status, 0, untar.out);
  for (const e of readdirSync(join(ROOT, 'node_modules'))) if (!e.startsWith('.')) symlinkSync(join(ROOT, 'node_modules', e), join(modules, e));
  t.diagnostic(`packed ${files.length} files, ${info[0]!.filename}`);

  const checked = run(TSC, ['-p', 'tsconfig.json'], app);
  assert.equal(checked.status, 0, `tsc on the fresh folder:\n${checked.out}`);
  const ran = run(process.execPath, ['out/main.js'], app);
  assert.equal(ran.status, 0, ran.out);
  assert.deepEqual(JSON.parse(ran.out.trim().split('\n')[0]!), {
    datasets: ['comments', 'users', 'videos'],
    phone: 'withheld',
    steps: 3,
    fns: ['function', 'function', 'function'],
  });

  // The declarations are really read: a wrong call is a type error.
  writeFileSync(join(app, 'main.ts'), `import { loadPolicy } from 'cordon';\nloadPolicy(42);\n`);
  const bad = run(TSC, ['-p', 'tsconfig.json'], app);
  assert.equal(bad.status, 2, bad.out);
  assert.match(bad.out, /main\.ts\(2,12\): error TS2345/);
  assert.ok(readFileSync(join(app, 'node_modules/cordon/dist/src/index.d.ts'), 'utf8').includes("export * from './policy/index.js'"));
});
