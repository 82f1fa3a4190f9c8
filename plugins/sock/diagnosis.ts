import { constants } from 'node:os';
import type { CgroupStats, InvocationFailure, ResourceLimits } from '../../core';
import type { ExitStatus } from './launcher-process';
import type { SeccompKill } from './seccomp-evidence';

/** What is known once an instance died in the middle of an invocation. */
export interface Death {
  fnName: string;
  limits: ResourceLimits;
  /** Cgroup figures taken before the invocation and after the launcher exited. */
  before: CgroupStats;
  after: CgroupStats;
  exit: ExitStatus;
  stderrTail: string;
  /** For a death by SIGSYS: the kernel's seccomp audit record, when it logged one. */
  seccomp?: SeccompKill;
  /** Names a system call number (the SyscallNames extension point). */
  syscallName?: (nr: number, arch?: string) => string | undefined;
}

/** Exit codes of the launcher that stand for "the program was killed by signal code-128". */
const SIGNAL_BASE = 128;
const MiB = 1024 * 1024;

/** What a signal usually means for a Python function, when nobody else sent it. */
const SIGNAL_MEANING: Record<string, string> = {
  SIGSEGV: 'a segmentation fault: a crash in native code (a C extension, ctypes)',
  SIGBUS: 'a bus error: a crash in native code, or a memory-mapped file that shrank',
  SIGABRT: 'an abort: a C library or extension called abort(), or os.abort()',
  SIGFPE: 'an arithmetic fault in native code',
  SIGILL: 'an illegal instruction in native code (a binary built for another CPU?)',
  SIGKILL: 'SIGKILL, which cannot be caught: sent by the function itself or a process it started (the memory and process counters of its cgroup did not move)',
  SIGTERM: 'SIGTERM: sent by the function itself or a process it started',
  SIGXCPU: 'SIGXCPU: the CPU-time limit (RLIMIT_CPU) ran out',
  SIGXFSZ: 'SIGXFSZ: a file grew past the file-size limit',
};

/**
 * Why the instance died: the kernel's own counters decide first (an OOM kill
 * and a refused fork are facts the cgroup recorded), then how the process
 * ended (a seccomp kill, another signal, or an exit code).
 */
export function diagnoseDeath(d: Death): InvocationFailure {
  if (d.after.oomKills > d.before.oomKills) return oomFailure(d);
  if (d.after.pidsLimitHits > d.before.pidsLimitHits) {
    return { ...pidsFailure(d.fnName, d.limits, 'its instance died', tail(d)), evidence: [pidsEvidence(d.before, d.after, d.limits)] };
  }
  const signal = exitSignal(d.exit);
  if (signal === 'SIGSYS') return blockedSyscall(d);
  if (signal) {
    const meaning = SIGNAL_MEANING[signal] ?? signal;
    return {
      kind: 'signal',
      signal,
      message: `function ${d.fnName}'s instance was killed by signal ${signal} while handling the request: ${meaning}${tail(d)}`,
      evidence: [`the runtime process ended by ${signal} (launcher status ${describeExit(d.exit)})`, ...memoryEvidence(d)],
      advice: signal === 'SIGKILL' ? 'look for os.kill / subprocess calls that signal their own process group' : 'see the stderr of the invocation; a native crash usually prints nothing, so reproduce it outside with python3 -X faulthandler',
    };
  }
  return {
    kind: 'crashed',
    message: `function ${d.fnName}'s instance exited with code ${d.exit.code ?? 'unknown'} while handling the request (os._exit, a crash in native code, or a broken runtime)${tail(d)}`,
    evidence: [`the runtime process exited with code ${d.exit.code ?? 'unknown'} (no signal; the memory and process counters of its cgroup did not move)`],
    advice: 'return from the handler (or raise) instead of calling os._exit(); sys.exit() is caught and reported as an error',
  };
}

function oomFailure(d: Death): InvocationFailure {
  const peak = d.after.memoryPeakBytes;
  const peakText = peak ? `peak was ${mib(peak)} of ${d.limits.memMb} MiB` : `the limit is ${d.limits.memMb} MiB`;
  return {
    kind: 'oom',
    message: `function ${d.fnName} was killed by the kernel: it used more than its memory limit of ${d.limits.memMb} MiB; raise limits.mem_mb in ol.yaml (the operator caps it) or use less memory`,
    signal: 'SIGKILL',
    evidence: [
      `the cgroup's OOM-kill counter (memory.events oom_kill in cgroup v2, memory.oom_control in v1) went from ${d.before.oomKills} to ${d.after.oomKills}`,
      ...memoryEvidence(d),
    ],
    advice: `raise limits.mem_mb in ol.yaml (${peakText}), or use less memory (stream data instead of loading it whole)`,
  };
}

function blockedSyscall(d: Death): InvocationFailure {
  const k = d.seccomp;
  const name = k ? (d.syscallName?.(k.syscall, k.arch) ?? `syscall ${k.syscall}`) : undefined;
  const what = name ? `\`${name}\`${name.startsWith('syscall ') ? ` (number ${k!.syscall} on architecture ${k!.arch})` : ''}` : 'a system call the sandbox forbids';
  return {
    kind: 'blocked-syscall',
    signal: 'SIGSYS',
    ...(name ? { syscall: name } : {}),
    message: `function ${d.fnName} tried to call ${what}, a blocked system call; the sandbox's seccomp filter killed its instance${tail(d)}`,
    evidence: [
      `the runtime process ended by SIGSYS, the signal of a seccomp kill (launcher status ${describeExit(d.exit)})`,
      k ? `kernel audit record: ${k.line}` : 'the kernel logged no seccomp audit record for it (see /proc/sys/kernel/seccomp/actions_logged and the audit rate limit)',
    ],
    advice: 'functions may not mount, load modules, trace or create namespaces; find the call (a library may make it) and avoid it, or ask the operator whether the seccomp profile should allow it',
  };
}

/** The instance hit pids.max and could not answer properly (it died, or copies of it garbled the answer). */
export function pidsFailure(fnName: string, limits: ResourceLimits, what: string, extra = ''): InvocationFailure {
  return {
    kind: 'pids',
    message: `function ${fnName} hit its process limit of ${limits.procs} processes and threads and ${what}; raise limits.procs in ol.yaml (the operator caps it) or start fewer processes and threads${extra}`,
    advice: `raise limits.procs in ol.yaml (now ${limits.procs}), or start fewer processes and threads (a pool instead of one per item)`,
  };
}

export function pidsEvidence(before: CgroupStats, after: CgroupStats, limits: ResourceLimits): string {
  return `the cgroup refused ${after.pidsLimitHits - before.pidsLimitHits} fork(s) at its limit of ${limits.procs} (pids.events max in cgroup v2, pids.events / failcnt in v1)`;
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

function describeExit(exit: ExitStatus): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code ?? 'unknown'}`;
}

function memoryEvidence(d: Death): string[] {
  const peak = d.after.memoryPeakBytes;
  return peak ? [`the instance's peak memory was ${mib(peak)} (limit ${d.limits.memMb} MiB)`] : [];
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

function tail(d: Death): string {
  return d.stderrTail ? `; its last stderr lines:\n${d.stderrTail}` : '';
}
