// quota-loopfs for real: ext4 images made with mkfs.ext4, loop-mounted,
// grown with resize2fs, real sandboxes writing into them.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { DEFAULT_CONFIG_FILE, loadWorkerConfig } from '../../../core/config/load-config';
import { Worker } from '../../../core/lifecycle/worker';
import { mountsUnder, startWorker, type RunningWorker } from '../../../test/helpers/worker-fixture';

const PLUGINS = [...loadWorkerConfig(DEFAULT_CONFIG_FILE).plugins, 'quota-loopfs'];
const withQuota = (...more: string[]) => [`plugins=[${PLUGINS.join(', ')}]`, 'quota-loopfs.default_mb=64', 'quota-loopfs.owners.alice=24', ...more];

const FILL = `import os

def f(event):
    written = 0
    try:
        with open("/host/fill", "wb", buffering=0) as fh:
            while written < event["mb"]:
                fh.write(b"x" * 1048576)
                written += 1
    except OSError as e:
        if event.get("catch"):
            return {"errno": e.errno, "written_mb": written}
        raise
    finally:
        if event.get("clean"):
            os.remove("/host/fill")
    return {"written_mb": written}
`;

/** A .tar.gz of a function dir with the given files. */
function archive(files: Record<string, string | Buffer>): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'olq-src-'));
  for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), body);
  const out = execFileSync('tar', ['czf', '-', '-C', dir, '.'], { maxBuffer: 256 * 1024 * 1024 });
  fs.rmSync(dir, { recursive: true });
  return out;
}

const ownerYaml = (owner: string) => `owner: ${owner}\n`;

async function install(w: RunningWorker, name: string, files: Record<string, string | Buffer>) {
  return w.admin('POST', `/registry/${name}`, archive(files));
}

test('an owner who fills its image gets ENOSPC in its sandbox, marked as the disk quota; the worker and other owners go on', { timeout: 120_000 }, async () => {
  const w = await startWorker(withQuota());
  try {
    for (const [name, owner] of [['fill-a', 'alice'], ['fill-b', 'bob']]) {
      const r = await install(w, name, { 'f.py': FILL, 'ol.yaml': ownerYaml(owner) });
      assert.equal(r.status, 201, r.text);
    }
    const caught = await w.run('fill-a', { mb: 64, catch: true });
    assert.equal(caught.status, 200, caught.text);
    assert.equal(caught.json.errno, 28, 'ENOSPC');
    assert.ok(caught.json.written_mb >= 10 && caught.json.written_mb < 24, `alice wrote ${caught.json.written_mb} MiB of her 24`);

    // The same, uncaught: the error says the disk quota was hit.
    const failed = await w.run('fill-a', { mb: 64 });
    assert.equal(failed.status, 500);
    assert.match(failed.json.error.message, /No space left on device.*disk quota hit/s);
    assert.match(failed.json.error.evidence.join('\n'), /ENOSPC\/EDQUOT: the disk quota was hit/);

    // Bob's image is his own; the worker still serves.
    const bob = await w.run('fill-b', { mb: 30, clean: true });
    assert.deepEqual(bob.json, { written_mb: 30 });
    assert.equal((await w.run('echo', { ok: 1 })).text, '{"ok":1}');
    const disk = (await w.admin('GET', '/stats')).json.disk as { owner: string; usedBytes: number; limitBytes: number }[];
    const alice = disk.find((d) => d.owner === 'alice')!;
    assert.equal(alice.limitBytes, 24 * 1024 * 1024);
    assert.ok(alice.usedBytes > 10 * 1024 * 1024, 'alice\'s fill file is still on her image');
  } finally {
    await w.stop();
  }
});

test('an upload that does not fit its owner\'s quota is refused with a clear error and not kept', { timeout: 120_000 }, async () => {
  // Built first: packing 30 MiB takes seconds, longer than the admin socket keeps an idle connection.
  const bigArchive = archive({ 'f.py': 'def f(e):\n    return 1\n', 'ol.yaml': ownerYaml('alice'), 'data.bin': randomBytes(30) });
  const w = await startWorker(withQuota());
  try {
    const small = await install(w, 'small', { 'f.py': 'def f(e):\n    return 1\n', 'ol.yaml': ownerYaml('alice'), 'data.bin': Buffer.alloc(2 * 1024 * 1024, 1) });
    assert.equal(small.status, 201, small.text);
    const big = await w.admin('POST', '/registry/big', bigArchive);
    assert.equal(big.status, 413, big.text);
    assert.match(big.text, /owner \\?"alice\\?" is over its disk quota of 24 MiB: function \\?"big\\?" needs \d+ KiB of code but only \d+ KiB are free/);
    assert.match(big.text, /quota-loopfs\.owners\.alice/);
    assert.deepEqual((await w.admin('GET', '/registry')).json.functions.includes('big'), false);
    assert.equal((await w.run('small', {})).status, 200);
    assert.equal((await w.run('big', {})).status, 404);
    // Removing a function gives its space back.
    assert.equal((await w.admin('DELETE', '/registry/small')).status, 204);
  } finally {
    await w.stop();
  }
});

function randomBytes(mb: number): Buffer {
  const fd = fs.openSync('/dev/urandom', 'r');
  const b = Buffer.alloc(mb * 1024 * 1024);
  fs.readSync(fd, b, 0, b.length, null);
  fs.closeSync(fd);
  return b;
}

test('images are unmounted and kept on shutdown, remounted on start, and grown when the configured size goes up', { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'olq-'));
  const start = (mb: number) =>
    Worker.start({ dir, configFile: DEFAULT_CONFIG_FILE, overrides: ['http.port=0', ...withQuota(`quota-loopfs.owners.carol=${mb}`)], logger: pino({ level: 'silent' }) });
  const mnt = path.join(dir, 'quota', 'm', 'carol');
  const img = path.join(dir, 'quota', 'img', 'carol.ext4');
  try {
    let w = await start(20);
    const quota = w.container.resolve<any>(Symbol.for('ol.point.DiskQuota'));
    await quota.storeCode('carol', 'kept', path.join(__dirname, '..', '..', '..', '..', 'examples', 'echo'));
    const total1 = fs.statfsSync(mnt).blocks * fs.statfsSync(mnt).bsize;
    await w.stop();
    assert.deepEqual(mountsUnder(dir), [], 'unmounted on shutdown');
    assert.ok(fs.existsSync(img), 'image kept');

    w = await start(40);
    try {
      assert.equal(mountsUnder(dir).length, 1, 'remounted on start');
      assert.ok(fs.existsSync(path.join(mnt, 'c', 'kept', 'f.py')), 'contents survived');
      const total2 = fs.statfsSync(mnt).blocks * fs.statfsSync(mnt).bsize;
      assert.ok(total2 > total1 + 15 * 1024 * 1024, `grown: ${total1} -> ${total2} bytes`);
      assert.equal(fs.statSync(img).size, 40 * 1024 * 1024);
    } finally {
      await w.stop();
    }
    assert.deepEqual(mountsUnder(dir), []);
  } finally {
    // Whatever failed above, never leave a loop mount behind.
    for (const line of mountsUnder(dir)) execFileSync('umount', [line.split(' ')[4]]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a function may ask for a tmpfs scratch dir of its own size (scratch.tmpfs_mb); it is gone with the sandbox', { timeout: 120_000 }, async () => {
  const w = await startWorker(withQuota());
  try {
    const probe = `import json\n\n${FILL.replace('import os\n', 'import os\n')}\n\ndef fstype(event):\n    for line in open("/proc/self/mountinfo"):\n        f = line.split()\n        if f[4] == "/host":\n            return f[f.index("-") + 1]\n`;
    const r = await install(w, 'tmpfill', { 'f.py': probe, 'ol.yaml': 'owner: alice\nscratch:\n  tmpfs_mb: 4\n' });
    assert.equal(r.status, 201, r.text);
    const out = await w.run('tmpfill', { mb: 16, catch: true });
    assert.equal(out.json.errno, 28, out.text);
    assert.ok(out.json.written_mb <= 4, `wrote ${out.json.written_mb} MiB into a 4 MiB tmpfs`);
    const scratchMounts = () => mountsUnder(path.join(w.dir, 'quota', 'm', 'alice', 's'));
    assert.equal(scratchMounts().length, 1, 'the tmpfs is mounted over the sandbox scratch dir');
    assert.match(scratchMounts()[0], / - tmpfs ol-scratch .*size=4096k/);
    assert.equal((await w.admin('DELETE', '/registry/tmpfill')).status, 204);
    // Retiring the function destroys its instance, and the tmpfs goes with it.
    for (let i = 0; i < 100 && scratchMounts().length; i++) await new Promise((res) => setTimeout(res, 50));
    assert.deepEqual(scratchMounts(), []);
  } finally {
    await w.stop();
  }
});
