import type { CapturedOutput, Cgroup, CgroupStats, Invocation, InvocationFailure, InvocationOutcome, LoadedFunction, Logger, Sandbox, SandboxState } from '../../core';
import type { SockConfig } from './config';
import { Deadline, within } from './deadline';
import { noteDiskFull } from './disk-full';
import { diagnoseDeath, exitSignal, pidsEvidence, pidsFailure, pidsLimitHint } from './diagnosis';
import { CAPTURE_HEADER, captureStem, collectOutput, noOutput } from './output-capture';
import { findSeccompKill, monotonicUs } from './seccomp-evidence';
import { LauncherProcess, type ExitStatus } from './launcher-process';
import { PROTOCOL_ERROR, RuntimeClient } from './runtime-client';
import { runMetered } from './invocation-meter';
import type { SandboxDirs } from './sandbox-dirs';
import { SandboxStartError, explainStartFailure, type StartProblem, type StartStage } from './start-failure';

/** Bound on waiting for a dead instance's stdout/stderr to drain (its writers are already killed). */
const DRAIN_MS = 1000;

export interface SandboxParts {
  id: string;
  fn: LoadedFunction;
  cgroup: Cgroup;
  dirs: SandboxDirs;
  config: SockConfig;
  log: Logger;
  /** Called once the sandbox is destroyed, so the backend stops tracking it. */
  onGone: (sandbox: SockSandbox) => void;
  /** Called when teardown could not kill or remove the cgroup: the backend retries in the background. */
  onLeak?: (cgroup: Cgroup, problems: string[]) => void;
  /** Names a system call number for a death by SIGSYS (the SyscallNames extension point). */
  syscallName?: (nr: number, arch?: string) => string | undefined;
  /** Called as a request starts (its id) and ends (null): SandboxCustomizer.serving. */
  onServing?: (requestId: string | null) => void;
}

/**
 * One SOCK instance: ol-launcher → sandbox init → ol_runtime.py serving the
 * function on a Unix socket. The instance's whole life is in its cgroup,
 * which the launcher joins before it creates any namespace.
 */
export class SockSandbox implements Sandbox {
  readonly id: string;
  readonly fn: LoadedFunction;
  readonly cgroup: Cgroup;
  private currentState: SandboxState = 'starting';
  private initPid = 0;
  private launcher?: LauncherProcess;
  private client?: RuntimeClient;
  private destroying?: Promise<void>;
  private deathReason = '';
  private busy = false;
  /**
   * Cgroup counters as of the end of the last invocation (or of the start):
   * an idle instance does not run, so they are the next invocation's "before"
   * without reading the cgroup again.
   */
  private baseline?: CgroupStats;
  /** The invocation in progress: where its output goes, and what teardown collected of it. */
  private call?: CallState;
  /** How long start() took; reported once, with the first invocation (the cold start). */
  private coldStartMs?: number;
  /** Host pids of the instance once ready, to recognise its seccomp audit records. */
  private startPids: number[] = [];

  constructor(private readonly parts: SandboxParts) {
    this.id = parts.id;
    this.fn = parts.fn;
    this.cgroup = parts.cgroup;
  }

  get state(): SandboxState {
    return this.currentState;
  }

  get pid(): number {
    return this.initPid;
  }

  private get fields(): Record<string, unknown> {
    return { sandbox: this.id, fn: this.fn.name };
  }

  /** Spawn the launcher and wait for `pid N` and then `ready`; on failure, everything is torn down and a SandboxStartError thrown. */
  async start(launcherPath: string, args: string[], envInput?: Buffer): Promise<void> {
    const timeout = this.parts.config.start_timeout_ms;
    const startedAt = performance.now();
    const launcher = LauncherProcess.spawn(launcherPath, args, this.parts.log, this.fields, envInput);
    this.launcher = launcher;

    const pidLine = await launcher.nextStatusLine(timeout);
    if (!('line' in pidLine)) throw await this.startFailed('pid', 'timeout' in pidLine ? { kind: 'timeout' } : { kind: 'eof' });
    const pid = /^pid (\d+)$/.exec(pidLine.line);
    if (!pid) throw await this.startFailed('pid', { kind: 'bad-line', line: pidLine.line });
    this.initPid = Number(pid[1]);

    const ready = await launcher.nextStatusLine(timeout);
    if (!('line' in ready)) throw await this.startFailed('ready', 'timeout' in ready ? { kind: 'timeout' } : { kind: 'eof' });
    if (ready.line.startsWith('error')) throw await this.startFailed('ready', { kind: 'runtime-error', reason: ready.line.slice(5).trim() });
    if (ready.line !== 'ready') throw await this.startFailed('ready', { kind: 'bad-line', line: ready.line });

    launcher.closeStatus();
    this.client = new RuntimeClient(this.parts.dirs.socket);
    this.baseline = await this.cgroup.stats().catch(() => undefined);
    this.startPids = await this.cgroup.pids().catch(() => []);
    this.coldStartMs = performance.now() - startedAt;
    if (this.destroying) throw new Error(`sandbox ${this.id} for function ${this.fn.name} was destroyed while it started (${this.deathReason})`);
    this.currentState = 'running';
    void launcher.exited.then((exit) => this.exitedWhileIdle(exit));
  }

  async invoke(inv: Invocation): Promise<InvocationOutcome> {
    if (this.currentState === 'dead') {
      return { ok: false, failure: { kind: 'crashed', message: `sandbox ${this.id} of function ${this.fn.name} was destroyed before this request (${this.deathReason}); run it in a new sandbox` } };
    }
    if (this.currentState !== 'running') throw new Error(`sandbox ${this.id} is ${this.currentState}; invoke() needs a running sandbox (unpause() a paused one first)`);
    if (this.busy) throw new Error(`sandbox ${this.id} is already running a request; a sandbox serves one request at a time`);
    this.busy = true;
    this.parts.onServing?.(inv.requestId);
    try {
      // Per-request cgroup keys and usage measurement: issue #8, see invocation-meter.ts.
      return await runMetered(this.cgroup, this.fn, inv, () => this.runOnce(inv), { alive: () => this.currentState !== 'dead', restoreFailed: (e) => this.destroy(`its cgroup settings could not be restored after a request (${e.message})`) });
    } finally {
      this.busy = false;
      this.parts.onServing?.(null);
    }
  }

  async pause(): Promise<void> {
    if (this.currentState !== 'running' || this.busy) throw new Error(`sandbox ${this.id} cannot be paused: it is ${this.busy ? 'running a request' : this.currentState}`);
    await this.cgroup.freeze();
    if (this.currentState === 'running') this.currentState = 'paused';
  }

  async unpause(): Promise<void> {
    if (this.currentState !== 'paused') throw new Error(`sandbox ${this.id} cannot be unpaused: it is ${this.currentState}`);
    await this.cgroup.thaw();
    if (this.currentState === 'paused') this.currentState = 'running';
  }

  destroy(reason: string): Promise<void> {
    this.destroying ??= this.teardown(reason);
    return this.destroying;
  }

  private async runOnce(inv: Invocation): Promise<InvocationOutcome> {
    const limits = this.fn.limits;
    const before = this.baseline ?? (await this.cgroup.stats());
    const deadline = new Deadline(limits.timeoutMs);
    const call: CallState = { requestId: inv.requestId, stem: captureStem(inv.requestId), startedMs: performance.now(), startedUs: monotonicUs() };
    this.call = call;
    try {
      let outcome: InvocationOutcome;
      try {
        const reply = await this.client!.run(inv, deadline.signal, { [CAPTURE_HEADER]: call.stem });
        outcome = reply.outcome;
        // The runtime removed empty capture files and says so: nothing to read.
        if (reply.outputBytes?.[0] === 0 && reply.outputBytes[1] === 0) call.output = noOutput();
      } catch (err) {
        outcome = deadline.passed ? await this.timedOut() : await this.diedDuring(before, deadline, err as Error);
        return await this.finishCall(call, outcome, before);
      }
      return await this.finishCall(call, await this.afterReply(outcome, before), before);
    } finally {
      deadline.clear();
      this.call = undefined;
    }
  }

  /** Attach the call's output (collected now, or by a teardown before the scratch dir went) and its usage. */
  private async finishCall(call: CallState, outcome: InvocationOutcome, before: CgroupStats): Promise<InvocationOutcome> {
    const output = call.output ?? (await this.collect(call));
    const after = call.after ?? this.baseline;
    const cpu = after?.cpuUsageUsec !== undefined && before.cpuUsageUsec !== undefined ? after.cpuUsageUsec - before.cpuUsageUsec : undefined;
    outcome.output = output;
    outcome.usage = {
      runMs: Math.round(performance.now() - call.startedMs),
      ...(this.coldStartMs !== undefined ? { coldStartMs: Math.round(this.coldStartMs) } : {}),
      ...(cpu !== undefined ? { cpuUsec: cpu } : {}),
      ...(after?.memoryPeakBytes !== undefined ? { memoryPeakBytes: after.memoryPeakBytes } : {}),
      memoryLimitBytes: this.fn.limits.memMb * 1024 * 1024,
    };
    this.coldStartMs = undefined;
    return outcome;
  }

  /** Read and remove the call's capture files; an unreadable one costs the output, never the answer. */
  private async collect(call: CallState): Promise<CapturedOutput | undefined> {
    try {
      call.output = await collectOutput(this.parts.dirs.scratch, call.stem, this.parts.config.output_max_bytes);
    } catch (e) {
      this.parts.log.warn({ ...this.fields, reqId: call.requestId, err: e }, "cannot read an invocation's captured output");
    }
    return call.output;
  }

  private async timedOut(): Promise<InvocationOutcome> {
    const ms = this.fn.limits.timeoutMs;
    await this.destroy(`an invocation exceeded the timeout of ${ms} ms`);
    const failure: InvocationFailure = {
      kind: 'timeout',
      message: `function ${this.fn.name} exceeded its timeout of ${ms} ms; raise limits.timeout_ms in ol.yaml (the operator caps it) or make it faster`,
      evidence: [`the invocation was still running when its wall-clock limit of ${ms} ms (limits.timeout_ms) passed; the worker killed the instance`],
      advice: `raise limits.timeout_ms in ol.yaml (now ${ms} ms), or make the function faster (its stdout shows how far it got)`,
    };
    return { ok: false, failure };
  }

  /** The connection failed or closed without an answer: the instance died (or is dying). Find out why from what the kernel recorded. */
  private async diedDuring(before: CgroupStats, deadline: Deadline, err: Error): Promise<InvocationOutcome> {
    let after = await this.cgroup.stats().catch(() => before);
    // An OOM kill or a refused fork is counted before the connection breaks; then there is
    // nothing to wait for (forked copies of a fork bomb may even keep the instance running).
    const kernelSaid = after.oomKills > before.oomKills || after.pidsLimitHits > before.pidsLimitHits;
    if (!kernelSaid) {
      const exit = await Promise.race([this.launcher!.exited, deadline.expired]);
      if (exit === 'expired') {
        await this.destroy('the runtime dropped the connection but kept running');
        return { ok: false, failure: { kind: 'crashed', message: `function ${this.fn.name}'s instance closed the connection without answering (${err.message}) and did not exit; the instance was destroyed` } };
      }
      after = await this.cgroup.stats().catch(() => after);
    }
    if (this.call) this.call.after = after;
    await this.destroy('the instance died during an invocation');
    await within(this.launcher!.output.whenEnded(), DRAIN_MS);
    const exit = this.launcher!.exitStatus ?? { code: null, signal: null };
    const seccomp = exitSignal(exit) === 'SIGSYS' ? findSeccompKill(this.startPids, this.call?.startedUs ?? 0n) : undefined;
    const stderrTail = lastLines(this.call?.output?.stderr ?? '') || this.launcher!.output.stderrTail();
    const failure = diagnoseDeath({ fnName: this.fn.name, limits: this.fn.limits, before, after, exit, stderrTail, seccomp, syscallName: this.parts.syscallName });
    this.parts.log.info({ ...this.fields, reqId: this.call?.requestId, kind: failure.kind }, 'sandbox instance died during an invocation');
    return { ok: false, failure };
  }

  /**
   * A fork that failed at pids.max leaves the instance with stray processes
   * holding its slots (or copies of the runtime sharing its socket): say so
   * to the author, and retire the instance so the next request gets a clean one.
   */
  private async afterReply(outcome: InvocationOutcome, before: CgroupStats): Promise<InvocationOutcome> {
    noteDiskFull(outcome);
    const after = await this.cgroup.stats().catch(() => before);
    this.baseline = after;
    if (this.call) this.call.after = after;
    if (after.pidsLimitHits <= before.pidsLimitHits) return outcome;
    await this.destroy(`an invocation hit the process limit of ${this.fn.limits.procs}`);
    if (outcome.ok) return outcome;
    const evidence = [pidsEvidence(before, after, this.fn.limits)];
    // Forked copies of the runtime may all answer on the one connection: a garbled reply says nothing about the function.
    if (outcome.failure.type === PROTOCOL_ERROR) return { ok: false, failure: { ...pidsFailure(this.fn.name, this.fn.limits, 'its forked copies garbled the answer'), evidence } };
    outcome.failure.message += pidsLimitHint(this.fn.limits);
    outcome.failure.evidence = evidence;
    return outcome;
  }

  private exitedWhileIdle(exit: ExitStatus): void {
    if (this.busy || this.destroying) return;
    const how = exitSignal(exit) ?? `exit code ${exit.code}`;
    this.parts.log.warn({ ...this.fields, exit: how }, 'sandbox instance exited while idle');
    void this.destroy(`the instance exited while idle (${how})`);
  }

  private async startFailed(stage: StartStage, problem: StartProblem): Promise<SandboxStartError> {
    // The status pipe closes as the sandbox init dies, just before the launcher exits with the
    // reason: wait for that exit (an event) before killing, which would mask it.
    if (problem.kind === 'eof') await within(this.launcher!.exited, this.parts.config.start_timeout_ms);
    const stats = await this.cgroup.stats().catch(() => undefined);
    await this.destroy(`failed to start (${stage}: ${problem.kind})`);
    await within(this.launcher!.output.whenEnded(), DRAIN_MS);
    const exit = this.launcher!.exitStatus;
    const [what, hint] = explainStartFailure({ stage, problem, exit, stats, memMb: this.fn.limits.memMb, config: this.parts.config });
    return new SandboxStartError(this.id, this.fn.name, what, this.launcher!.output.stderrTail(), hint);
  }

  /** Kill everything (the kernel confirms the cgroup is empty), then release the socket client, the cgroup and the directories. */
  private async teardown(reason: string): Promise<void> {
    const wasPaused = this.currentState === 'paused';
    this.currentState = 'dead';
    this.deathReason = reason;
    this.parts.log.info({ ...this.fields, reqId: this.call?.requestId, reason }, 'destroying sandbox');
    const problems: string[] = [];
    const step = async (what: string, action: () => Promise<unknown> | undefined) => {
      try {
        await action();
      } catch (e) {
        problems.push(`${what}: ${(e as Error).message}`);
      }
    };
    // Frozen tasks do not act on SIGKILL until thawed (cgroup v1).
    if (wasPaused) await step('thaw', () => this.cgroup.thaw());
    await step('kill processes', () => this.cgroup.killAll());
    if (this.launcher) {
      // It is in the cgroup and already dead, unless it failed before joining it.
      this.launcher.kill();
      await this.launcher.exited;
    }
    await step('close runtime connection', () => this.client?.close());
    // The output of a call that killed its instance is in the scratch dir, about to be removed.
    if (this.call && !this.call.output) await step('collect output', () => this.collect(this.call!));
    await step('remove cgroup', () => this.cgroup.destroy());
    await step('remove directories', () => this.parts.dirs.remove());
    this.parts.onGone(this);
    if (problems.length) this.parts.log.error({ ...this.fields, problems }, 'sandbox teardown left something behind');
    const cgroupProblems = problems.filter((p) => p.startsWith('kill processes') || p.startsWith('remove cgroup'));
    if (cgroupProblems.length) this.parts.onLeak?.(this.cgroup, cgroupProblems);
  }
}

/** One invocation in progress. */
interface CallState {
  requestId: string;
  /** Names its capture files. */
  stem: string;
  startedMs: number;
  /** CLOCK_MONOTONIC at the start, to find its kernel log records. */
  startedUs: bigint;
  /** Cgroup figures at its end. */
  after?: CgroupStats;
  output?: CapturedOutput;
}

/** The last lines of a call's stderr, for an error message. */
function lastLines(text: string, max = 15): string {
  return text.trimEnd().split('\n').slice(-max).join('\n');
}
