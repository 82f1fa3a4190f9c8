import type { CgroupStats } from '../../core';
import type { SockConfig } from './config';
import type { ExitStatus } from './launcher-process';
import { exitSignal } from './diagnosis';

/** The stage a sandbox start was in when it failed. */
export type StartStage = 'pid' | 'ready';

/** What went wrong while waiting for a status line. */
export type StartProblem =
  | { kind: 'timeout' }
  | { kind: 'eof' }
  | { kind: 'runtime-error'; reason: string }
  | { kind: 'bad-line'; line: string };

export interface StartFailureFacts {
  stage: StartStage;
  problem: StartProblem;
  exit?: ExitStatus;
  stats?: CgroupStats;
  memMb: number;
  config: SockConfig;
}

/** A sandbox could not be started; the message says what failed and what to do. */
export class SandboxStartError extends Error {
  constructor(readonly sandbox: string, readonly fnName: string, what: string, stderrTail: string, hint: string) {
    const tail = stderrTail ? `; the sandbox's last stderr lines:\n${stderrTail}\n` : '; ';
    super(`sandbox ${sandbox} for function ${fnName} failed to start: ${what}${tail}${hint}`);
    this.name = 'SandboxStartError';
  }
}

/** [what failed, what to do] for a failed start. */
export function explainStartFailure(f: StartFailureFacts): [string, string] {
  const { problem, exit, config } = f;
  if (exit?.spawnError) {
    return [`cannot run the launcher ${config.launcher}: ${exit.spawnError.message}`, 'build it with `make -C native` (npm run build does), or set sock.launcher to its path'];
  }
  if (problem.kind === 'timeout') {
    return f.stage === 'pid'
      ? [`the launcher did not report the sandbox's pid within ${config.start_timeout_ms} ms`, 'the host may be overloaded; raise sock.start_timeout_ms if it is only slow']
      : [`the function was not loaded within ${config.start_timeout_ms} ms (its imports and module-level code run before the first request)`, 'make the module load faster, or raise sock.start_timeout_ms'];
  }
  if (problem.kind === 'runtime-error') {
    return [`the Python runtime could not start: ${problem.reason}`, 'this is a fault of the worker installation, not of the function; report it with the message above'];
  }
  if (problem.kind === 'bad-line') {
    return [`unexpected status line ${JSON.stringify(problem.line.slice(0, 200))} from the ${f.stage === 'pid' ? 'launcher' : 'runtime'}`, 'the launcher (native/) and the runtime (plugins/sock/runtime/) do not match this plugin; rebuild OL Kernel'];
  }
  return explainEarlyExit(f);
}

function explainEarlyExit(f: StartFailureFacts): [string, string] {
  const { exit, config, stats } = f;
  const code = exit?.code;
  if (code === 125) {
    return ['the launcher could not set up the sandbox (exit 125)', 'check sock.base_root, sock.base_binds and the function\'s code directory; the worker must run as root with namespaces and cgroups available'];
  }
  if (code === 126) {
    return [`the launcher could not execute ${config.python} inside the sandbox (exit 126)`, 'set sock.python to an interpreter that exists inside the sandbox (under sock.base_binds, or sock.base_root)'];
  }
  if (stats && stats.oomKills > 0) {
    return [`the instance was killed for exceeding its memory limit of ${f.memMb} MiB while loading the function`, 'raise limits.mem_mb in ol.yaml (the operator caps it), or import less at module level'];
  }
  const signal = exit ? exitSignal(exit) : undefined;
  const how = signal ? `was killed by ${signal}` : `exited with code ${code ?? 'unknown'}`;
  return f.stage === 'pid'
    ? [`the launcher ${how} before it created the sandbox`, 'see the stderr lines above']
    : [`the instance ${how} before the function was loaded`, "see the stderr lines above; a function's module-level code must not exit the process"];
}
