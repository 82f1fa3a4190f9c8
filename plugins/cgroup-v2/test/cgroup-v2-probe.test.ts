import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { CGROUP_DRIVER_DEFAULTS } from '../../../core';
import { CgroupV2Driver } from '../driver';

// Runs on the host, whose cgroups are hybrid (MISSION.md): v1 hierarchies under
// /sys/fs/cgroup, and a cgroup2 mount at /sys/fs/cgroup/unified with only hugetlb.
// The driver's real work is tested inside the VM (cgroup-v2.vm.test.ts).

function probeWith(mount: string): Promise<{ ok: boolean; reasons: string[] }> {
  const reasons: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void reasons.push(JSON.parse(s).reason) });
  return new CgroupV2Driver({ ...CGROUP_DRIVER_DEFAULTS, mount }, log).probe().then((ok) => ({ ok, reasons }));
}

test('probe() is false on this hybrid host: /sys/fs/cgroup is not a cgroup2 mount', async () => {
  const { ok, reasons } = await probeWith('/sys/fs/cgroup');
  assert.equal(ok, false, readFileSync('/proc/self/mountinfo', 'utf8'));
  assert.match(reasons.join(' '), /not a cgroup2 mount/);
});

test('probe() is false on a cgroup2 mount without the memory and pids controllers', async () => {
  const { ok, reasons } = await probeWith('/sys/fs/cgroup/unified');
  assert.equal(ok, false);
  assert.match(reasons.join(' '), /memory, pids controller\(s\) are not available/);
});

test('probe() is false where nothing is mounted', async () => {
  assert.equal((await probeWith('/tmp')).ok, false);
});
