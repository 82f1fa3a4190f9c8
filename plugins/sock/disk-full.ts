import type { InvocationOutcome } from '../../core';

// Issue #7 (disk quotas), kept apart from diagnosis.ts (issue #6): a function
// whose write failed with ENOSPC or EDQUOT raised an ordinary OSError; say in
// the debug record that it hit its disk quota, not a worker fault.
const DISK_FULL = /\[Errno (28|122)\]|No space left on device|Disk quota exceeded/;

/** Adds the disk-quota cause to an exception outcome whose error is ENOSPC/EDQUOT. */
export function noteDiskFull(outcome: InvocationOutcome): InvocationOutcome {
  if (outcome.ok || outcome.failure.kind !== 'exception') return outcome;
  const f = outcome.failure;
  if (!DISK_FULL.test(`${f.message}\n${f.traceback ?? ''}`)) return outcome;
  f.evidence = [...(f.evidence ?? []), 'a write failed with ENOSPC/EDQUOT: the disk quota was hit (the owner\'s quota for /host, or sock.tmp_mb for /tmp)'];
  f.advice ??= "the function filled the disk space it is allowed: write less, delete what it no longer needs, or ask the operator to raise the owner's disk quota";
  f.message += ' [disk quota hit: the sandbox\'s writable space is full]';
  return outcome;
}
