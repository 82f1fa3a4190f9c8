// quota-projquota for real, inside the VM (../shared/tools/run-in-vm), whose
// stock kernel has ext4 project quotas: an image made with -O quota,project,
// mounted with prjquota, one project per owner, limits set with setquota.
// Writers run as an unprivileged uid, as sandboxes do: the kernel lets root
// (CAP_SYS_RESOURCE) past quota limits.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { workerPaths } from '../../../core/lifecycle/worker-paths';
import { ProjquotaQuota } from '../projquota';
import { isMountPoint } from '../mounts';

const silent = pino({ level: 'silent' });
const NOBODY = 65534;

/** Write `mb` MiB to `file` as uid/gid 65534; returns the errno name of the failure, or 'ok', and how much was written. */
function writeAsNobody(file: string, mb: number): { result: string; mb: number } {
  const py = `
import errno, os, sys, json
os.setgroups([]); os.setgid(${NOBODY}); os.setuid(${NOBODY})
n = 0
try:
    with open(sys.argv[1], "wb", buffering=0) as fh:
        while n < int(sys.argv[2]):
            fh.write(b"x" * 1048576); n += 1
        os.fsync(fh.fileno())
    print(json.dumps({"result": "ok", "mb": n}))
except OSError as e:
    print(json.dumps({"result": errno.errorcode[e.errno], "mb": n}))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py, file, String(mb)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('each owner is held to its project quota; over it writes fail with EDQUOT, uploads are refused, others are unaffected', { timeout: 600_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'olpq-'));
  // The unprivileged writer walks the path itself (a sandbox gets its scratch dir by a bind mount instead).
  fs.chmodSync(dir, 0o755);
  const q = new ProjquotaQuota({ image_mb: 128, owners: { alice: 8 }, default_mb: 32 }, workerPaths(dir), silent);
  await q.start();
  try {
    assert.ok(await isMountPoint(path.join(dir, 'quota')));
    const a = await q.scratchDir('alice', 'sa');
    const b = await q.scratchDir('bob', 'sb');
    fs.chownSync(a, NOBODY, NOBODY);
    fs.chownSync(b, NOBODY, NOBODY);

    const alice = writeAsNobody(path.join(a, 'fill'), 20);
    assert.match(alice.result, /^(EDQUOT|ENOSPC)$/);
    assert.ok(alice.mb >= 4 && alice.mb <= 8, `alice wrote ${alice.mb} MiB of her 8`);
    assert.deepEqual(writeAsNobody(path.join(b, 'fill'), 16), { result: 'ok', mb: 16 }, "bob's quota is his own");

    const usage = await q.usage();
    assert.deepEqual(usage.map((u) => [u.owner, u.limitBytes]), [['alice', 8 << 20], ['bob', 32 << 20]]);
    assert.ok(usage[0].usedBytes >= 4 << 20);

    // Upload checks: alice's scratch is nearly full, so 6 MiB of code do not fit; bob's do.
    const code = fs.mkdtempSync(path.join(os.tmpdir(), 'olpq-code-'));
    fs.writeFileSync(path.join(code, 'f.py'), 'def f(e):\n    return 1\n');
    fs.writeFileSync(path.join(code, 'blob'), Buffer.alloc(6 << 20, 1));
    await assert.rejects(q.storeCode('alice', 'big', code), (e: Error & { status?: number }) => {
      assert.equal(e.status, 413);
      assert.match(e.message, /owner "alice" is over its disk quota of 8 MiB: function "big" needs \d+ KiB of code but only \d+ KiB are free/);
      return true;
    });
    await q.storeCode('bob', 'big', code);
    assert.ok(fs.existsSync(path.join(dir, 'quota', 'bob', 'c', 'big', 'blob')));

    // Releasing alice's scratch gives her space back.
    await q.releaseScratch('alice', 'sa');
    await q.storeCode('alice', 'big', code);
    assert.ok(!fs.existsSync(path.join(dir, 'quota', 'bob', 'c', 'big')), 'moved from bob to alice');
  } finally {
    await q.stop();
  }
  assert.equal(await isMountPoint(path.join(dir, 'quota')), false, 'unmounted at stop');

  // Restart with a larger limit: the project keeps its id and gets the new limit.
  const q2 = new ProjquotaQuota({ image_mb: 128, owners: { alice: 24 }, default_mb: 32 }, workerPaths(dir), silent);
  await q2.start();
  try {
    const a = await q2.scratchDir('alice', 'sa2');
    fs.chownSync(a, NOBODY, NOBODY);
    assert.deepEqual(writeAsNobody(path.join(a, 'more'), 10), { result: 'ok', mb: 10 });
  } finally {
    await q2.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
