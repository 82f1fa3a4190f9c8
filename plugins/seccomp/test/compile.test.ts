// The compiler, checked against the real kernel: filters compiled here run
// Python under native/build/ol-launcher (as root), which installs them.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { nativeArch } from '../arch';
import { compileProfile } from '../compile';
import { ACTIONS, parseProfile, ProfileError, ruleApplies, type SeccompProfile } from '../profile';
import { profileForTier } from '../tiers';

const LAUNCHER = path.resolve(__dirname, '../../../../native/build/ol-launcher');
const DEFAULT = parseProfile(fs.readFileSync(path.resolve(__dirname, '../../../../plugins/seccomp/profiles/default.json'), 'utf8'), 'default.json');
const ARCH = nativeArch();
const NR = ARCH.syscalls;
const T = { timeout: 60_000 };

/** Run Python code under `profile` (compiled here) in a sandbox as uid 65534; returns exit code and stdout. */
function runUnder(profile: SeccompProfile, code: string, killMode = false): { code: number; stdout: string; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ol-seccomp-test-'));
  try {
    const filter = compileProfile(profile, ARCH, killMode ? { defaultAction: ACTIONS.SCMP_ACT_KILL_PROCESS } : {});
    fs.writeFileSync(path.join(dir, 'f.bpf'), filter.program);
    fs.mkdirSync(path.join(dir, 'root'));
    fs.writeFileSync(path.join(dir, 't.py'), `import ctypes, errno, json, os\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.syscall.restype = ctypes.c_long\ndef sc(nr, *args):\n    r = libc.syscall(nr, *[ctypes.c_ulong(a) for a in args])\n    return 'ok' if r >= 0 else errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno())\n${code}\n`);
    const r = cp.spawnSync(LAUNCHER, [
      '--root', path.join(dir, 'root'), '--ro-bind', '/usr', '/usr', '--ro-bind-try', '/lib', '/lib', '--ro-bind-try', '/lib64', '/lib64',
      '--ro-bind-try', '/bin', '/bin', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '0', '--ro-bind', path.join(dir, 't.py'), '/t.py',
      '--uid', '65534', '--gid', '65534', '--seccomp', path.join(dir, 'f.bpf'), '--', '/usr/bin/python3', '-S', '/t.py',
    ], { encoding: 'utf8', timeout: 30_000 });
    return { code: r.status ?? 128 + os.constants.signals[r.signal!], stdout: r.stdout, stderr: r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function results(out: { code: number; stdout: string; stderr: string }): any {
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout.trim().split('\n').pop()!);
}

test('the default (leaf) profile lets Python run, fork and thread, and refuses namespace, mount and kernel-attack calls with EPERM', T, () => {
  const out = runUnder(DEFAULT, `
import socket, threading
pid = os.fork()
if pid == 0: os._exit(7)
t = threading.Thread(target=lambda: None); t.start(); t.join()
socket.socket().close()
print(json.dumps({
  'fork': os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]),
  'unshare': sc(${NR.unshare}, 0x20000), 'setns': sc(${NR.setns}, 0, 0), 'mount': sc(${NR.mount}, 0, 0, 0, 0, 0),
  'pivot_root': sc(${NR.pivot_root}, 0, 0), 'chroot': sc(${NR.chroot}, 0), 'clone_newnet': sc(${NR.clone}, 0x40000011, 0, 0, 0, 0),
  'clone3': sc(${NR.clone3}, 0, 0), 'bpf': sc(${NR.bpf}, 0, 0, 0), 'keyctl': sc(${NR.keyctl}, 0), 'ptrace': sc(${NR.ptrace}, 16, 1, 0, 0),
  'perf_event_open': sc(${NR.perf_event_open}, 0, 0, 0, 0, 0), 'userfaultfd': sc(${NR.userfaultfd}, 0), 'kexec_load': sc(${NR.kexec_load}, 0, 0, 0, 0),
  'init_module': sc(${NR.init_module}, 0, 0, 0), 'open_by_handle_at': sc(${NR.open_by_handle_at}, 0, 0, 0), 'io_uring_setup': sc(${NR.io_uring_setup}, 1, 0),
  'vsock': sc(${NR.socket}, 40, 1, 0),
}))`);
  const r = results(out);
  assert.equal(r.fork, 7);
  assert.equal(r.clone3, 'ENOSYS', 'clone3 must say ENOSYS so that glibc falls back to clone');
  for (const [name, got] of Object.entries(r)) if (name !== 'fork' && name !== 'clone3') assert.equal(got, 'EPERM', name);
});

test('kill mode: a blocked call kills the process with SIGSYS; the zygote tier allows what the leaf forbids', T, () => {
  const leaf = runUnder(DEFAULT, `print('before', flush=True)\nsc(${NR.unshare}, 0x20000)\nprint('survived')`, true);
  assert.equal(leaf.code, 128 + os.constants.signals.SIGSYS, leaf.stderr);
  assert.equal(leaf.stdout, 'before\n');
  // Without capabilities the kernel itself then says EPERM: the filter let the call through.
  const zygote = runUnder(profileForTier(DEFAULT, 'zygote'), `print(json.dumps([sc(${NR.unshare}, 0x20000), sc(${NR.clone}, 0x40000011, 0, 0, 0, 0)]))`, true);
  assert.deepEqual(results(zygote), ['EPERM', 'EPERM']);
  // clone3 keeps its ENOSYS in kill mode: it is an explicit rule, not the default action.
  assert.deepEqual(results(runUnder(DEFAULT, `print(json.dumps(sc(${NR.clone3}, 0, 0)))`, true)), 'ENOSYS');
});

test('argument conditions compare all 64 bits, unsigned, with each operator', T, () => {
  // Low words are never 0 (who = 0 is the caller) nor a pid of the sandbox (1, 2).
  const big = 2 ** 40 + 0x7fff_fff0;
  const cases: [string, number, number[], number[]][] = [
    // op, value, args that match, args that do not
    ['SCMP_CMP_EQ', big, [big], [5, big + 1, 2 ** 41 + 0x7fff_fff0]],
    ['SCMP_CMP_NE', big, [5, big + 1, 2 ** 41 + 0x7fff_fff0], [big]],
    ['SCMP_CMP_GT', big, [big + 1, 2 ** 41 + 3], [big, 5, big - 1]],
    ['SCMP_CMP_GE', big, [big, 2 ** 41 + 3], [big - 1, 7]],
    ['SCMP_CMP_LT', big, [big - 1, 3], [big, 2 ** 41 + 3]],
    ['SCMP_CMP_LE', big, [big, 3], [big + 1, 2 ** 41 + 3]],
  ];
  for (const [op, value, yes, no] of cases) {
    // getpriority(PRIO_PROCESS, who): a match returns errno 74 (EBADMSG); otherwise the kernel answers (ESRCH for a missing pid).
    const profile: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['getpriority'], action: 'SCMP_ACT_ERRNO', errnoRet: 74, args: [{ index: 1, value, op: op as any }] }],
    };
    const r = results(runUnder(profile, `print(json.dumps([sc(${NR.getpriority}, 0, a) for a in ${JSON.stringify([...yes, ...no])}]))`));
    assert.deepEqual(r, [...yes.map(() => 'EBADMSG'), ...no.map(() => 'ESRCH')], op);
  }
  const masked: SeccompProfile = {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['getpriority'], action: 'SCMP_ACT_ERRNO', errnoRet: 74, args: [{ index: 1, value: 2 ** 33 + 0xf0, valueTwo: 0x30, op: 'SCMP_CMP_MASKED_EQ' }] }],
  };
  assert.deepEqual(results(runUnder(masked, `print(json.dumps([sc(${NR.getpriority}, 0, a) for a in [0x30, 0x3f, 0x1_0000_0030, 0x2_0000_0030, 0x40]]))`)), ['EBADMSG', 'EBADMSG', 'EBADMSG', 'ESRCH', 'ESRCH']);
});

test('a filter longer than a short jump can reach still works (long jumps), and stays a binary search', T, () => {
  // Every syscall gets a conditional rule: thousands of instructions, so many jumps need the long form.
  const names = Object.keys(NR);
  const profile: SeccompProfile = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names, action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0xdead_beef, op: 'SCMP_CMP_NE' }] }] };
  const compiled = compileProfile(profile, ARCH);
  assert.ok(compiled.length > 1500, `only ${compiled.length} instructions`);
  const r = results(runUnder(profile, `print(json.dumps([sc(${NR.getpriority}, 0xdeadbeef, 0), sc(${NR.getppid}), len(os.listdir('/'))]))`));
  assert.deepEqual(r.slice(0, 2), ['EPERM', 'ok']);
  // The default profile: a handful of comparisons per call, not one per listed syscall.
  const leaf = compileProfile(DEFAULT, ARCH);
  assert.ok(leaf.length < 400, `${leaf.length} instructions`);
});

test('the filter starts with the architecture check: another architecture (the i386 entry point) is killed; x32 numbers are past every known one and take the default action', () => {
  const p = compileProfile(DEFAULT, ARCH).program;
  const insn = (i: number) => [p.readUInt16LE(i * 8), p.readUInt8(i * 8 + 2), p.readUInt8(i * 8 + 3), p.readUInt32LE(i * 8 + 4)];
  assert.deepEqual(insn(0), [0x20, 0, 0, 4]); // ld [4]: seccomp_data.arch
  assert.deepEqual(insn(1), [0x15, 1, 0, ARCH.auditArch]); // jeq AUDIT_ARCH: skip the kill
  assert.deepEqual(insn(2), [0x06, 0, 0, 0x80000000]); // ret KILL_PROCESS
  assert.deepEqual(insn(3), [0x20, 0, 0, 0]); // ld [0]: the syscall number
});

test("Docker's includes/excludes: capability rules never apply, arch and minKernel rules do", () => {
  const other = ARCH.name === 'x86_64' ? 'arm64' : 'amd64';
  assert.equal(ruleApplies({ names: ['x'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } }, ARCH), false);
  assert.equal(ruleApplies({ names: ['x'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN'] } }, ARCH), true);
  assert.equal(ruleApplies({ names: ['x'], action: 'SCMP_ACT_ALLOW', includes: { arches: [other] } }, ARCH), false);
  assert.equal(ruleApplies({ names: ['x'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4.8' } }, ARCH, '6.1.0'), true);
  assert.equal(ruleApplies({ names: ['x'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '99.0' } }, ARCH, '6.1.0'), false);
});

test('a bad profile is refused with a message naming the file and the key', () => {
  assert.throws(() => parseProfile('{', 'p.json'), (e: Error) => e instanceof ProfileError && /p\.json: not valid JSON/.test(e.message));
  assert.throws(() => parseProfile('{"defaultAction":"SCMP_ACT_NOTIFY"}', 'p.json'), /p\.json: defaultAction: "SCMP_ACT_NOTIFY" is not a supported action/);
  assert.throws(() => parseProfile('{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ALLOW","args":[{"index":7,"value":1,"op":"SCMP_CMP_EQ"}]}]}', 'p.json'), /syscalls\[0\]\.args\[0\]\.index: must be 0\.\.5/);
  assert.throws(() => compileProfile({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_S390X'] }, ARCH), /do not include this host's/);
});
