import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startWorker, type RunningWorker } from '../../../test/helpers/worker-fixture';
import { ownV1Dir, readV1, retire, until } from './v1-sandbox';

/**
 * cpuset, io and hugetlb keys on this host's v1 hierarchies (cpuset and blkio
 * are mounted here, hugetlb is not), through a real worker: the values land
 * in the v1 files, have their effect (CPU affinity, read throttling), a
 * request's values are put back after it, and keys this host cannot apply
 * are refused naming the key and why.
 */
const fnDir = mkdtempSync(path.join(os.tmpdir(), 'ol-v1-hier-'));
after(() => rmSync(fnDir, { recursive: true, force: true }));
const MiB = 1024 * 1024;

/** The whole disk (MAJ:MIN) holding `dir`: blkio limits apply to disks, not partitions. */
function diskOf(dir: string): string {
  const dev = statSync(dir).dev;
  const major = (dev >> 8) & 0xfff;
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  let sys = realpathSync(`/sys/dev/block/${major}:${minor}`);
  if (existsSync(path.join(sys, 'partition'))) sys = path.dirname(sys);
  return readFileSync(path.join(sys, 'dev'), 'utf8').trim();
}
const DISK = diskOf(fnDir);

function writeFn(name: string, cgroup: Record<string, string>, code = 'def f(event):\n    return "ok"\n'): void {
  mkdirSync(path.join(fnDir, name), { recursive: true });
  writeFileSync(path.join(fnDir, name, 'f.py'), code);
  if (Object.keys(cgroup).length) writeFileSync(path.join(fnDir, name, 'ol.yaml'), `cgroup:\n${Object.entries(cgroup).map(([k, v]) => `  ${k}: "${v}"\n`).join('')}`);
}

const AFFINITY = 'import os\ndef f(event):\n    return sorted(os.sched_getaffinity(0))\n';
// Reads /handler/blob with O_DIRECT (no page cache: every byte is a block read the cgroup is charged and throttled for).
const READER = `import mmap, os, time
def f(event):
    time.sleep(event.get("sleep", 0))
    fd = os.open("/handler/blob", os.O_RDONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, 1 << 20)
    t = time.monotonic()
    n = 0
    try:
        while True:
            got = os.readv(fd, [buf])
            if got == 0: break
            n += got
    finally:
        os.close(fd)
    return {"bytes": n, "seconds": time.monotonic() - t}
`;
writeFn('pinned', { 'cpuset.cpus': '1', 'cpuset.mems': '0' }, AFFINITY);
writeFn('free', {}, AFFINITY);
writeFn('throttled', { 'io.max': `${DISK} rbps=2M`, 'io.weight': '300' }, READER);
writeFileSync(path.join(fnDir, 'throttled', 'blob'), randomBytes(4 * MiB));
writeFn('hugepages', { 'hugetlb.2MB.max': '4M' });
writeFn('devweight', { 'io.weight': `${DISK} 200` });
writeFn('nocpu', { 'cpuset.cpus': String(os.cpus().length + 2) });
writeFn('nodisk', { 'io.max': '259:4095 rbps=1M' });

// Every key of this test allowed; cpuset.cpus and io.max per request too.
const POLICY = '{cpuset.cpus: {function: true, invocation: true}, cpuset.mems: {function: true, invocation: false}, io.max: {function: true, invocation: true, max: 1G}, io.weight: {function: true, invocation: false}, hugetlb.2MB.max: {function: true, invocation: false, max: 1G}}';
let w: RunningWorker;
const v1 = (hierarchy: string, file: string) => readV1(w, hierarchy, file);
const workerCpus = readFileSync(path.join(ownV1Dir('cpuset'), 'cpuset.cpus'), 'utf8').trim();

function usage(h: string | string[] | undefined): Record<string, string> {
  assert.equal(typeof h, 'string', 'X-OL-Usage is present');
  return Object.fromEntries((h as string).split('; ').map((kv) => kv.split('=')));
}

test('start a worker whose policy lets functions set cpuset, io and hugetlb keys', async () => {
  assert.ok(os.cpus().length >= 2, 'this test pins to CPU 1');
  w = await startWorker([`registry-dir.dirs=[${fnDir}]`, 'scheduler-fifo.pause_idle=false', `cgroup=${POLICY}`]);
});

test('a sandbox without cpuset keys gets the worker\'s CPUs and memory nodes (v1 starts a cpuset cgroup empty)', async () => {
  const r = await w.run('free', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(v1('cpuset', 'cpuset.cpus'), workerCpus);
  assert.equal(v1('cpuset', 'cpuset.mems'), readFileSync(path.join(ownV1Dir('cpuset'), 'cpuset.mems'), 'utf8').trim());
  assert.equal(r.json.length, os.cpus().length, r.text);
  await retire(w, 'free');
});

test('cpuset.cpus / cpuset.mems land in the v1 cpuset hierarchy and pin the function', async () => {
  const r = await w.run('pinned', {});
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, [1]);
  assert.equal(v1('cpuset', 'cpuset.cpus'), '1');
  assert.equal(v1('cpuset', 'cpuset.mems'), '0');
});

test('a request\'s cpuset.cpus applies to its run only, and is put back after it', async () => {
  const r = await w.call('POST', '/run/pinned', '{}', { 'X-OL-Cgroup': 'cpuset.cpus=0' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, [0]);
  assert.equal(v1('cpuset', 'cpuset.cpus'), '1');
  assert.deepEqual((await w.run('pinned', {})).json, [1]);
  await retire(w, 'pinned');
});

test('io.max lands in blkio.throttle.*_device and throttles reads; io.weight in blkio.bfq.weight; usage counts the bytes', async () => {
  const r = await w.run('throttled', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(v1('blkio', 'blkio.throttle.read_bps_device'), `${DISK} ${2 * MiB}`);
  assert.equal(v1('blkio', 'blkio.bfq.weight'), '300');
  assert.equal(r.json.bytes, 4 * MiB);
  // 4 MiB at 2 MiB/s: about 2 s (the first throttle slice may pass a little at once).
  assert.ok(r.json.seconds >= 1.2, `read 4 MiB in ${r.json.seconds} s under rbps=2M`);
  assert.ok(Number(usage(r.headers['x-ol-usage']).io_read_bytes) >= 4 * MiB, String(r.headers['x-ol-usage']));
});

test('a request\'s io.max replaces the device\'s limits for its run; the old lines are put back and new ones cleared', async () => {
  const pending = w.call('POST', '/run/throttled', JSON.stringify({ sleep: 0.5 }), { 'X-OL-Cgroup': `io.max=${DISK} rbps=1G wiops=100` });
  await until(() => v1('blkio', 'blkio.throttle.write_iops_device'), `${DISK} 100`);
  assert.equal(v1('blkio', 'blkio.throttle.read_bps_device'), `${DISK} ${1024 * MiB}`);
  const r = await pending;
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.seconds < 1, `unthrottled, read 4 MiB in ${r.json.seconds} s`);
  assert.equal(v1('blkio', 'blkio.throttle.read_bps_device'), `${DISK} ${2 * MiB}`);
  assert.equal(v1('blkio', 'blkio.throttle.write_iops_device'), '');
  await retire(w, 'throttled');
});

test('keys this host cannot apply are refused, naming the key and why', async () => {
  const huge = await w.run('hugepages', {});
  if (existsSync('/sys/fs/cgroup/hugetlb')) {
    assert.equal(huge.status, 200, huge.text);
    assert.equal(v1('hugetlb', 'hugetlb.2MB.limit_in_bytes'), String(4 * MiB));
    await retire(w, 'hugepages');
  } else {
    assert.equal(huge.status, 422, huge.text);
    assert.match(huge.json.error.message, /cgroup hugetlb\.2MB\.max: not available on this host \(cgroup v1\): hugetlb\.2MB\.max maps to the hugetlb hierarchy, and no cgroup v1 hierarchy with the hugetlb controller is mounted under \/sys\/fs\/cgroup/);
  }
  const scheduler = readFileSync(`/sys/dev/block/${DISK}/queue/scheduler`, 'utf8');
  if (!scheduler.includes('[bfq]')) {
    const dev = await w.run('devweight', {});
    assert.equal(dev.status, 422, dev.text);
    assert.match(dev.json.error.message, new RegExp(`cgroup io\\.weight: not available on this host \\(cgroup v1\\): device ${DISK} does not use the bfq I/O scheduler`));
  }
  const cpu = await w.run('nocpu', {});
  assert.equal(cpu.status, 422, cpu.text);
  assert.match(cpu.json.error.message, new RegExp(`cgroup cpuset\\.cpus: not available on this host \\(cgroup v1\\): CPUs ${os.cpus().length + 2} are not in this worker's cpuset \\(CPUs available: ${workerCpus}\\)`));
  const disk = await w.run('nodisk', {});
  assert.equal(disk.status, 422, disk.text);
  assert.match(disk.json.error.message, /cgroup io\.max: not available on this host \(cgroup v1\): 259:4095 is not a block device on this host/);
  const req = await w.call('POST', '/run/throttled', '{}', { 'X-OL-Cgroup': `cpuset.cpus=${os.cpus().length + 2}` });
  assert.equal(req.status, 400, req.text);
  assert.match(req.json.error.message, /cpuset\.cpus: not available on this host \(cgroup v1\): CPUs/);
});

after(async () => {
  await w?.stop();
});
