// On this host the kernel has CONFIG_QUOTA but neither CONFIG_QFMT_V2 nor
// CONFIG_XFS_QUOTA: ext4/xfs project quotas cannot be mounted. The plugin
// must refuse to start with an error that names the missing kernel options.
// Its real behaviour is tested in the VM (projquota.vm.test.ts).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { workerPaths } from '../../../core/lifecycle/worker-paths';
import { ProjquotaQuota } from '../projquota';
import { mountFor } from '../mounts';

const silent = pino({ level: 'silent' });

test('on a kernel without ext4/xfs quota support, start fails naming the missing kernel options', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'olpq-'));
  try {
    const q = new ProjquotaQuota({ image_mb: 32 }, workerPaths(dir), silent);
    await assert.rejects(q.start(), (e: Error) => {
      assert.match(e.message, /plugin "quota-projquota": project quotas do not work here: mounting the ext4 image .* with -o prjquota failed/);
      assert.match(e.message, /CONFIG_QFMT_V2/);
      assert.match(e.message, /CONFIG_QUOTA/);
      assert.match(e.message, /quota-loopfs/);
      return true;
    });
    assert.equal((await mountFor(path.join(dir, 'quota'))).mountPoint !== path.join(dir, 'quota'), true, 'nothing left mounted');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a quota dir on a file system without prjquota is refused at start with what to do', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'olpq-'));
  try {
    const q = new ProjquotaQuota({}, workerPaths(dir), silent);
    await assert.rejects(q.start(), /not mounted with project quotas \(prjquota\).*CONFIG_QUOTA.*mount an ext4 file system \(made with -O quota,project\) or xfs with -o prjquota there, or set quota-projquota.image_mb/s);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
