import type { FailureKind } from '../invoke/invocation';

/**
 * The HTTP status each kind of function failure gets. A failure of the
 * function's own code is 500; the instance dying under a limit is 502 (the
 * upstream went away); running out of time is 504.
 */
export const FAILURE_STATUS: Record<FailureKind, number> = {
  exception: 500,
  load: 500,
  'bad-return': 500,
  exit: 500,
  timeout: 504,
  oom: 502,
  pids: 502,
  signal: 502,
  'blocked-syscall': 502,
  crashed: 502,
};
