// Attacks on the kernel and on neighbours through system calls: each is a real
// function, run by a real worker under the default seccomp profile.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { attackWorker, syscallNumbers, type AttackWorker } from './attack-kit';

const NR = syscallNumbers();
let a: AttackWorker;

before(async () => {
  a = await attackWorker({
    mount: `return [attempt(sc, ${NR.mount}, b'none', b'/tmp', b'tmpfs', 0, None), attempt(sc, ${NR.mount}, b'/usr', b'/tmp', None, 0x1000 | 0x4000, None), attempt(sc, ${NR.umount2}, b'/handler', 2)]`,
    unshare: `return [attempt(sc, ${NR.unshare}, f) for f in (0x20000, 0x40000000, 0x10000000, 0x20000000)] + [attempt(sc, ${NR.clone}, 0x10000000 | 17, 0, 0, 0, 0)]`,
    setns: `
fds = [os.open(f'/proc/self/ns/{n}', os.O_RDONLY) for n in ('net', 'mnt')]
init = attempt(os.open, '/proc/1/ns/mnt', os.O_RDONLY)
return [attempt(sc, ${NR.setns}, fd, 0) for fd in fds] + [init]`,
    ptrace: `
# PTRACE_ATTACH (16) on the sandbox init, on itself via a child, and on a host pid (another instance).
child = os.fork()
if child == 0:
    time.sleep(5); os._exit(0)
r = [attempt(sc, ${NR.ptrace}, 16, 1, 0, 0), attempt(sc, ${NR.ptrace}, 16, child, 0, 0), attempt(sc, ${NR.ptrace}, 16, event['victim'], 0, 0),
     attempt(sc, ${NR.process_vm_readv}, child, 0, 0, 0, 0, 0), attempt(lambda: open(f"/proc/{event['victim']}/mem", 'rb').read(1))]
os.kill(child, 9); os.waitpid(child, 0)
return r`,
    signal: `
# The worker's and another instance's host pids are not in this pid namespace; kill(-1) reaches only its own processes.
r = {'worker': attempt(os.kill, event['worker'], 15), 'victim': attempt(os.kill, event['victim'], 9), 'init': attempt(os.kill, 1, 9)}
r['pidfd'] = attempt(sc, ${NR.pidfd_open}, event['worker'], 0)
return r`,
    'open-by-handle': `return [attempt(sc, ${NR.open_by_handle_at}, -100, b'\\0' * 64, 0), attempt(sc, ${NR.name_to_handle_at}, -100, b'/handler/f.py', ctypes.create_string_buffer(128), ctypes.byref(ctypes.c_int()), 0)]`,
    bpf: `return [attempt(sc, ${NR.bpf}, cmd, ctypes.create_string_buffer(128), 128) for cmd in (0, 5)]  # BPF_MAP_CREATE, BPF_PROG_LOAD`,
    keyctl: `return [attempt(sc, ${NR.keyctl}, 0, -3, 0), attempt(sc, ${NR.add_key}, b'user', b'x', b'secret', 6, -3), attempt(sc, ${NR.request_key}, b'user', b'x', None, 0)]`,
    'raw-socket': `return [attempt(socket.socket, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP), attempt(socket.socket, socket.AF_PACKET, socket.SOCK_RAW, 0), attempt(socket.socket, socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW), attempt(socket.socket, 40, socket.SOCK_STREAM)]`,
    'kernel-misc': `return {'perf_event_open': attempt(sc, ${NR.perf_event_open}, ctypes.create_string_buffer(128), 0, -1, -1, 0), 'userfaultfd': attempt(sc, ${NR.userfaultfd}, 0), 'kexec_load': attempt(sc, ${NR.kexec_load}, 0, 0, 0, 0), 'init_module': attempt(sc, ${NR.init_module}, 0, 0, b''), 'finit_module': attempt(sc, ${NR.finit_module}, 0, b'', 0), 'io_uring_setup': attempt(sc, ${NR.io_uring_setup}, 1, ctypes.create_string_buffer(120)), 'chroot': attempt(os.chroot, '/tmp'), 'pivot_root': attempt(sc, ${NR.pivot_root}, b'/tmp', b'/tmp'), 'setuid0': attempt(os.setuid, 0), 'reboot': attempt(sc, ${NR.reboot}, 0xfee1dead, 672274793, 0x4321fedc, 0), 'swapon': attempt(sc, ${NR.swapon}, b'/tmp/x', 0), 'syslog': attempt(sc, ${NR.syslog}, 3, ctypes.create_string_buffer(64), 64)}`,
    victim: `return os.getpid()`,
  }, [], { victim: 'environment:\n  VICTIM_SECRET: "s3cret-value"\n' });
});
after(async () => a?.stop());

/** Host pid of the warm "victim" instance's runtime: the process whose environment holds its secret. */
async function victimPid(): Promise<number> {
  await a.run('victim');
  for (const p of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (fs.readFileSync(`/proc/${p}/environ`, 'utf8').includes('VICTIM_SECRET=s3cret-value')) return Number(p);
    } catch {
      // gone, or a kernel thread
    }
  }
  throw new Error('the victim instance is not running');
}

test('mount and umount: EPERM (seccomp; no CAP_SYS_ADMIN either)', async () => {
  assert.deepEqual(await a.run('mount'), ['EPERM', 'EPERM', 'EPERM']);
});

test('unshare any namespace, or clone with a namespace flag: EPERM', async () => {
  assert.deepEqual(await a.run('unshare'), ['EPERM', 'EPERM', 'EPERM', 'EPERM', 'EPERM']);
});

test("setns into its own or the init's namespaces: EPERM, and the init's namespace files are not even openable", async () => {
  assert.deepEqual(await a.run('setns'), ['EPERM', 'EPERM', 'EACCES']);
});

test("ptrace the init, its own child, or another instance: EPERM; another instance's /proc/<pid>/mem does not exist for it", async () => {
  const r = await a.run('ptrace', { victim: await victimPid() });
  assert.deepEqual(r.slice(0, 4), ['EPERM', 'EPERM', 'EPERM', 'EPERM']);
  assert.equal(r[4], 'ENOENT');
});

test('signal the worker or another instance: they are not in its pid namespace; the init ignores it', async () => {
  const victim = await victimPid();
  const r = await a.run('signal', { worker: process.pid, victim });
  assert.equal(r.worker, 'ESRCH');
  assert.equal(r.victim, 'ESRCH');
  assert.equal(r.pidfd, 'ESRCH');
  assert.match(r.init, /^(EPERM|ok)$/); // init is root and ignores signals it did not ask for
  assert.equal(await a.run('victim') >= 1, true, 'the victim still answers');
  assert.equal(fs.readFileSync(`/proc/${victim}/environ`, 'utf8').includes('VICTIM_SECRET'), true, 'and is the same instance');
});

test('open_by_handle_at (the "shocker" escape) and name_to_handle_at: EPERM for the first', async () => {
  const [open] = await a.run('open-by-handle');
  assert.equal(open, 'EPERM');
});

test('load a BPF program or map: EPERM', async () => {
  assert.deepEqual(await a.run('bpf'), ['EPERM', 'EPERM']);
});

test('keyctl, add_key, request_key (the kernel keyring): EPERM', async () => {
  assert.deepEqual(await a.run('keyctl'), ['EPERM', 'EPERM', 'EPERM']);
});

test('raw and packet sockets (no CAP_NET_RAW), vsock (seccomp): EPERM', async () => {
  assert.deepEqual(await a.run('raw-socket'), ['EPERM', 'EPERM', 'EPERM', 'EPERM']);
});

test('perf_event_open, userfaultfd, kexec, module loading, io_uring, chroot, pivot_root, setuid(0), reboot, swapon, syslog: all refused', async () => {
  const r = await a.run('kernel-misc');
  for (const [call, got] of Object.entries(r)) assert.equal(got, 'EPERM', call);
});
