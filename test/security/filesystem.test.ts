// Attacks on the filesystem jail: each is a real function run through a real
// worker, which tries one escape and reports how each step ended.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { attackWorker, hostMarker, pluginsPlus, syscallNumbers, type AttackWorker } from './attack-kit';

const NR = syscallNumbers();
const marker = hostMarker();
let a: AttackWorker;

/** Steps that reach a path: read it and report its content, or how the read failed. */
const READ = `
def read(p):
    try:
        with open(p) as fh:
            return fh.read(200)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
`;

before(async () => {
  a = await attackWorker({
    'read-host-file': `${READ}
return {p: read(p) for p in [event['marker'], '/etc/shadow', '/root/.bash_history', '/work/main/package.json', '/proc/1/environ']}`,
    'write-handler': `return [attempt(lambda: open('/handler/f.py', 'a').write('x')), attempt(lambda: open('/handler/new.py', 'w')), attempt(os.chmod, '/handler/f.py', 0o777)]`,
    'write-base': `return [attempt(lambda: open('/usr/bin/python3', 'ab')), attempt(lambda: open('/usr/new', 'w')), attempt(lambda: open('/etc/passwd', 'a')), attempt(lambda: open('/new', 'w')), attempt(os.mkdir, '/newdir')]`,
    'escape-dotdot': `${READ}
os.chdir('/')
for _ in range(50):
    os.chdir('..')
return {'cwd_listing': sorted(os.listdir('.')), 'root_listing': sorted(os.listdir('/')), 'marker': read('/../../../../..' + event['marker']), 'relative': read('../../../..' + event['marker'])}`,
    'escape-dirfd': `${READ}
fd = os.open('/', os.O_RDONLY | os.O_DIRECTORY)
os.makedirs('/tmp/jail', exist_ok=True)
chroot = attempt(os.chroot, '/tmp/jail')  # the classic escape: chroot deeper, then climb from the fd
os.fchdir(fd)
for _ in range(50):
    os.chdir('..')
up = os.open('../../..', os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
return {'chroot': chroot, 'listing': sorted(os.listdir('.')), 'from_fd': sorted(os.listdir(up)), 'marker': read(event['marker'])}`,
    'escape-proc-root': `${READ}
found = {}
for pid in [p for p in os.listdir('/proc') if p.isdigit()] + ['self', 'thread-self']:
    root = f'/proc/{pid}/root'
    try:
        found[pid] = {'listing': sorted(os.listdir(root)), 'marker': read(root + event['marker'])}
    except OSError as e:
        found[pid] = errno.errorcode.get(e.errno)
return found`,
    'write-proc-sys': `return {p: attempt(lambda p=p: open(p, 'w').write('1')) for p in ['/proc/sys/kernel/hostname', '/proc/sys/vm/drop_caches', '/proc/sysrq-trigger', '/proc/sys/kernel/core_pattern', '/sys/kernel/uevent_helper', '/sys/fs/cgroup/cgroup.procs']} | {'sys_exists': os.path.exists('/sys/kernel')}`,
    'mknod': `return {p: attempt(os.mknod, p, stat.S_IFCHR | 0o666, os.makedev(*dev)) for p, dev in [('/tmp/mem', (1, 1)), ('/host/sda', (8, 0)), ('/dev/shm/kmsg', (1, 11))]} | {'mknodat_sys': attempt(sc, ${NR.mknodat}, -100, b'/tmp/null2', stat.S_IFCHR | 0o666, os.makedev(1, 3))}`,
    'fill-tmp': `
n = 0
try:
    with open('/tmp/fill', 'wb') as fh:
        while n < 10 * 1024:
            fh.write(b'x' * (1 << 20)); fh.flush(); n += 1
    return {'mb': n, 'stopped': 'no'}
except OSError as e:
    return {'mb': n, 'stopped': errno.errorcode.get(e.errno)}`,
    'fill-host': `
n = 0
try:
    while n < 10 * 1024:
        with open(f'/host/fill{n}', 'wb') as fh:
            fh.write(b'x' * (1 << 20))
        n += 1
    return {'mb': n, 'stopped': 'no'}
except OSError as e:
    return {'mb': n, 'stopped': errno.errorcode.get(e.errno)}`,
  }, ['quota-loopfs.default_mb=48', pluginsPlus('quota-loopfs')]);
});
after(async () => {
  await a?.stop();
  marker.remove();
});

const NOT_FOUND_OR_DENIED = /^(ENOENT|EACCES|EPERM)$/;

test('read a host file outside the base: not there', async () => {
  const r = await a.run('read-host-file', { marker: marker.path });
  for (const [p, got] of Object.entries(r)) assert.match(String(got), NOT_FOUND_OR_DENIED, `${p}: ${got}`);
});

// As uid 65534 the kernel may refuse on ownership (EACCES) before it looks at the read-only mount (EROFS); both hold.
const REFUSED_WRITE = /^(EROFS|EACCES)$/;

test('write to /handler (the function code): read-only mount, owned by root', async () => {
  for (const got of await a.run('write-handler')) assert.match(got, REFUSED_WRITE);
});

test('write to the base (/usr, /etc, /): read-only mounts, owned by root', async () => {
  for (const got of await a.run('write-base')) assert.match(got, REFUSED_WRITE);
});

test('escape the root via ..: the root is its own parent', async () => {
  const r = await a.run('escape-dotdot', { marker: marker.path });
  assert.deepEqual(r.cwd_listing, r.root_listing);
  assert.ok(!r.root_listing.includes('work') && !r.root_listing.includes('root'), r.root_listing.join(' '));
  assert.equal(r.marker, 'ENOENT');
  assert.equal(r.relative, 'ENOENT');
});

test('escape the root via an open directory fd (and chroot): chroot is refused, the fd climbs no higher than /', async () => {
  const r = await a.run('escape-dirfd', { marker: marker.path });
  assert.equal(r.chroot, 'EPERM');
  assert.deepEqual(r.listing, r.from_fd);
  assert.ok(!r.listing.includes('work'), r.listing.join(' '));
  assert.equal(r.marker, 'ENOENT');
});

test('escape via /proc/<pid>/root: only the sandbox\'s own processes, and their root is the sandbox root', async () => {
  const r = await a.run('escape-proc-root', { marker: marker.path });
  const pids = Object.keys(r).filter((p) => /^\d+$/.test(p)).map(Number);
  assert.ok(Math.max(...pids) < 100, `host pids visible: ${pids.join(' ')}`);
  for (const [pid, got] of Object.entries(r) as [string, any][]) {
    if (typeof got === 'string') assert.match(got, /^(EACCES|EPERM|ENOENT)$/, `${pid}: ${got}`);
    else {
      assert.equal(got.marker, 'ENOENT', pid);
      assert.ok(!got.listing.includes('work'), `${pid}: ${got.listing.join(' ')}`);
    }
  }
});

test('write to /proc/sys, /proc/sysrq-trigger or /sys: read-only or absent', async () => {
  const r = await a.run('write-proc-sys');
  assert.equal(r.sys_exists, false);
  delete r.sys_exists;
  for (const [p, got] of Object.entries(r)) assert.match(String(got), /^(EROFS|EACCES|ENOENT|EPERM)$/, `${p}: ${got}`);
});

test('create device nodes: refused (no CAP_MKNOD; every writable mount is nodev)', async () => {
  const r = await a.run('mknod');
  for (const [p, got] of Object.entries(r)) assert.equal(got, 'EPERM', p);
});

test('fill the disk through /tmp: stops at the tmpfs size (sock.tmp_mb)', async () => {
  const r = await a.run('fill-tmp');
  assert.equal(r.stopped, 'ENOSPC');
  assert.ok(r.mb <= 64, `${r.mb} MiB written`);
});

test("fill the disk through /host: stops at the owner's quota (quota-loopfs)", async () => {
  const r = await a.run('fill-host');
  assert.match(r.stopped, /^(ENOSPC|EDQUOT)$/);
  assert.ok(r.mb <= 48, `${r.mb} MiB written`);
});
