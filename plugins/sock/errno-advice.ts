import type { InvocationFailure } from '../../core';

/**
 * What an OSError's errno says about the sandbox, when the function's
 * exception came from a refusal rather than a bug: in errno mode a seccomp
 * filter makes a blocked call fail with EPERM (or ENOSYS), and a disk quota
 * makes writes fail with EDQUOT or ENOSPC.
 */
const ERRNO_CAUSES: Record<string, { evidence: string; advice: string }> = {
  EPERM: {
    evidence: 'a system call failed with EPERM (operation not permitted): functions run without capabilities, as an unprivileged user, under a seccomp filter that refuses some calls',
    advice: 'see the traceback for the call; mounting, changing users, loading modules, tracing and creating namespaces are not allowed in a sandbox',
  },
  ENOSYS: {
    evidence: 'a system call failed with ENOSYS: the sandbox\'s seccomp filter may refuse it as "not implemented"',
    advice: 'see the traceback for the call; ask the operator whether the seccomp profile should allow it',
  },
  EDQUOT: {
    evidence: 'a write failed with EDQUOT: the disk quota of the function or its owner is used up',
    advice: 'write less to disk (clean up /tmp and /host between calls), or ask the operator for a larger quota',
  },
  ENOSPC: {
    evidence: 'a write failed with ENOSPC: the filesystem the function writes to (its /tmp, or its quota-limited scratch space) is full',
    advice: 'write less to disk (clean up /tmp and /host between calls), or ask for a larger limit (sock.tmp_mb for /tmp)',
  },
};

/** Adds evidence and advice to an exception whose errno points at the sandbox. */
export function explainErrno(failure: InvocationFailure, errno: unknown): void {
  const cause = typeof errno === 'string' ? ERRNO_CAUSES[errno] : undefined;
  if (!cause) return;
  failure.evidence = [...(failure.evidence ?? []), cause.evidence];
  failure.advice ??= cause.advice;
}
