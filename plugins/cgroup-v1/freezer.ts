import * as path from 'node:path';
import { Backoff, WaitTimeoutError, readCgroupFile, readPids, waitForFileContent, writeCgroupFile, type Logger } from '../../core';

/**
 * cgroup v1 announces neither the end of a freeze nor a cgroup becoming empty
 * (it has no cgroup.events), so these poll the files with a short backoff:
 * a first re-read after 1 ms, doubling up to 64 ms.
 */
const POLL = { pollMs: 1, maxPollMs: 64 };

export type FreezerState = 'FROZEN' | 'THAWED';

/**
 * Writes freezer.state and polls until it reads back (FREEZING is the
 * transient state in between). The write is asynchronous: on the 6.x
 * kernels seen here it takes about 4 ms in the kernel (freeze and thaw
 * alike), which must not stall the event loop; the read-back is a cheap
 * synchronous read (a thaw reads back at once, a freeze of an idle process
 * usually within the first re-read).
 */
export async function setFreezerState(dir: string, state: FreezerState, timeoutMs: number): Promise<void> {
  const file = path.join(dir, 'freezer.state');
  await writeCgroupFile(file, state);
  const started = performance.now();
  const backoff = new Backoff(POLL.pollMs, POLL.maxPollMs);
  for (;;) {
    const now = await readCgroupFile(file);
    if (now === state) return;
    const left = timeoutMs - (performance.now() - started);
    if (left <= 0) {
      throw new Error(`cgroup ${dir}: freezer.state still reads ${now} instead of ${state} after ${timeoutMs} ms; a member may be stuck in uninterruptible sleep (D state): see /proc/<pid>/stack of the pids in its cgroup.procs`);
    }
    await backoff.wait(left);
  }
}

/** Polls until the cgroup's cgroup.procs lists no process (v1 has no "populated" event). */
export async function waitProcsEmpty(dir: string, timeoutMs: number): Promise<void> {
  try {
    await waitForFileContent(path.join(dir, 'cgroup.procs'), (c) => c.trim() === '', { timeoutMs, ...POLL });
  } catch (e) {
    if (!(e instanceof WaitTimeoutError)) throw e;
    const pids = e.lastContent?.trim().split('\n').join(' ');
    throw new Error(`cgroup ${dir} still holds processes ${pids} after ${timeoutMs} ms; one may be stuck in uninterruptible sleep (D state)`);
  }
}

/**
 * v1 has no cgroup.kill: freeze the groups so nothing forks between reading
 * the pids and killing them, SIGKILL every member, thaw so the killed
 * processes can run their exit, then wait for every group to empty.
 * `freezerDirs` lists parents before children: each is thawed itself (a child
 * frozen on its own stays frozen when only its parent is thawed), parents
 * first (a child cannot read THAWED while its parent is still frozen).
 */
export async function killAllIn(freezerDirs: string[], memberDirs: string[], timeoutMs: number, log: Logger): Promise<void> {
  for (const dir of freezerDirs) {
    // Kill anyway if a member cannot freeze: it cannot fork either while stuck.
    await setFreezerState(dir, 'FROZEN', timeoutMs).catch((e) => log.warn({ cgroup: dir, err: (e as Error).message }, 'freeze before kill failed; killing unfrozen'));
  }
  const pids = new Set((await Promise.all(memberDirs.map((d) => readPids(path.join(d, 'cgroup.procs'))))).flat());
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }
  for (const dir of freezerDirs) await setFreezerState(dir, 'THAWED', timeoutMs);
  for (const dir of memberDirs) await waitProcsEmpty(dir, timeoutMs);
}
