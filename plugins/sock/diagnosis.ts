import { constants } from 'node:os';
import type { CgroupStats, InvocationFailure, ResourceLimits } from '../../core';
import type { ExitStatus } from './launcher-process';

/** What is known once an instance died in the middle of an invocation. */
export interface Death {
  fnName: string;
  limits: ResourceLimits;
  /** Cgroup figures taken before the invocation and after the launcher exited. */
  before: CgroupStats;
  after: CgroupStats;
  exit: ExitStatus;
  stderrTail: string;
}

/** Exit codes of the launcher that stand for "the program was killed by signal code-128". */
const SIGNAL_BASE = 128;

/**
 * Why the instance died: the kernel's own counters decide first (an OOM kill
 * and a refused fork are facts the cgroup recorded), then how the process
 * ended (a signal, or an exit code).
 */
export function diagnoseDeath(d: Death): InvocationFailure {
  if (d.after.oomKills > d.before.oomKills) {
    return {
      kind: 'oom',
      message: `function ${d.fnName} was killed by the kernel: it used more than its memory limit of ${d.limits.memMb} MiB; raise limits.mem_mb in ol.yaml (the operator caps it) or use less memory`,
      signal: 'SIGKILL',
    };
  }
  if (d.after.pidsLimitHits > d.before.pidsLimitHits) return pidsFailure(d.fnName, d.limits, 'its instance died', tail(d));
  const signal = exitSignal(d.exit);
  if (signal) {
    return { kind: 'signal', signal, message: `function ${d.fnName}'s instance was killed by signal ${signal} while handling the request${tail(d)}` };
  }
  return {
    kind: 'crashed',
    message: `function ${d.fnName}'s instance exited with code ${d.exit.code ?? 'unknown'} while handling the request (os._exit, a crash in native code, or a broken runtime)${tail(d)}`,
  };
}

/** The instance hit pids.max and could not answer properly (it died, or copies of it garbled the answer). */
export function pidsFailure(fnName: string, limits: ResourceLimits, what: string, extra = ''): InvocationFailure {
  return {
    kind: 'pids',
    message: `function ${fnName} hit its process limit of ${limits.procs} processes and threads and ${what}; raise limits.procs in ol.yaml (the operator caps it) or start fewer processes and threads${extra}`,
  };
}

/** Appended to an exception's message when the function's fork failed at the process limit (Python raises OSError then). */
export function pidsLimitHint(limits: ResourceLimits): string {
  return ` [the instance hit its process limit of ${limits.procs} processes and threads (limits.procs) during this call, so a fork or a new thread failed; raise limits.procs in ol.yaml (the operator caps it) or start fewer]`;
}

/** The signal that ended the program: the launcher reports it as 128+N, or the launcher itself was killed. */
export function exitSignal(exit: ExitStatus): string | undefined {
  if (exit.signal) return exit.signal;
  if (exit.code !== null && exit.code > SIGNAL_BASE && exit.code < SIGNAL_BASE + 65) return signalName(exit.code - SIGNAL_BASE);
  return undefined;
}

function signalName(n: number): string {
  const entry = Object.entries(constants.signals).find(([, v]) => v === n);
  return entry ? entry[0] : `signal ${n}`;
}

function tail(d: Death): string {
  return d.stderrTail ? `; its last stderr lines:\n${d.stderrTail}` : '';
}
