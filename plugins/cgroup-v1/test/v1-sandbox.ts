import * as assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { SchedulerPoint, type Scheduler } from '../../../core';
import type { RunningWorker } from '../../../test/helpers/worker-fixture';

/** This process's cgroup directory in a v1 hierarchy (from /proc/self/cgroup). */
export function ownV1Dir(hierarchy: string): string {
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes(hierarchy))!.split(':')[2];
  return path.join('/sys/fs/cgroup', hierarchy, own);
}

/** The worker's one sandbox cgroup in a v1 hierarchy (the tests keep one instance alive at a time). */
export function sandboxDir(w: RunningWorker, hierarchy: string): string {
  const scopeDir = path.join(ownV1Dir(hierarchy), w.worker.paths.scope);
  const dirs = readdirSync(scopeDir, { withFileTypes: true }).filter((e) => e.isDirectory());
  assert.equal(dirs.length, 1, `one sandbox cgroup in ${scopeDir}`);
  return path.join(scopeDir, dirs[0].name);
}

export const readV1 = (w: RunningWorker, hierarchy: string, file: string) => readFileSync(path.join(sandboxDir(w, hierarchy), file), 'utf8').trim();

/** Polls a cgroup file the test reads while a request runs (the test observes; the product waits on nothing). */
export { until } from '../../../test/helpers/until';

/** Destroys the function's instances, so the next function's sandbox is the only one. */
export function retire(w: RunningWorker, name: string): Promise<void> {
  return w.worker.container.resolve<Scheduler>(SchedulerPoint.token).retire(name);
}
