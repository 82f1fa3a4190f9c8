// Runs every test for real: first all host tests (as root: namespaces, cgroup
// v1, sandboxes), then the *.vm.test.js files inside ../shared/tools/run-in-vm,
// a QEMU VM with a pure cgroup v2 kernel. Prints one closing line for both.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const repo = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..');
const only = process.argv.slice(2);
const files = walk(path.join(repo, 'dist')).filter((f) => f.endsWith('.test.js'));
const pick = (vm) => files.filter((f) => f.endsWith('.vm.test.js') === vm && (only.length === 0 || only.some((o) => f.includes(o))));

if (process.getuid?.() !== 0) {
  console.error('npm test must run as root: the tests create real namespaces, cgroups and mounts.');
  process.exit(1);
}

const totals = { pass: 0, fail: 0 };
run('host', pick(false), (args) => [process.execPath, args]);
const vmTests = pick(true);
if (vmTests.length) {
  const runInVm = path.resolve(repo, '../shared/tools/run-in-vm');
  if (!existsSync(runInVm)) {
    console.error(`cannot run the cgroup v2 tests: ${runInVm} is missing`);
    totals.fail += vmTests.length;
  } else {
    run('cgroup v2 VM', vmTests, (args) => [runInVm, ['--timeout', '1500', '--', process.execPath, ...args]]);
  }
}
console.log(`\ntotal: ${totals.pass} passed, ${totals.fail} failed`);
process.exit(totals.fail > 0 ? 1 : 0);

function run(label, testFiles, command) {
  if (!testFiles.length) return;
  const tap = path.join(mkdtempSync(path.join(repo, 'dist', '.tap-')), 'out.tap');
  const args = ['--test', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...testFiles.map((f) => path.relative(repo, f))];
  console.log(`\n== ${label}: ${testFiles.length} test files`);
  const [cmd, argv] = command(args);
  const r = spawnSync(cmd, argv, { cwd: repo, stdio: 'inherit' });
  const out = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
  const count = (k) => [...out.matchAll(new RegExp(`^# ${k} (\\d+)$`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);
  const pass = count('pass');
  let fail = count('fail');
  if (r.status !== 0 && fail === 0) fail = 1; // the runner itself failed (crash, VM failure)
  console.log(`== ${label}: ${pass} passed, ${fail} failed`);
  totals.pass += pass;
  totals.fail += fail;
}

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? (n === 'node_modules' ? [] : walk(p)) : [p];
  });
}
