import type { Cgroup, CgroupStats, Invocation, InvocationOutcome, LoadedFunction, Logger, Sandbox, SandboxState } from '../../core';
import type { SockConfig } from './config';
import { Deadline, within } from './deadline';
import { diagnoseDeath, exitSignal, pidsFailure, pidsLimitHint } from './diagnosis';
import { LauncherProcess, type ExitStatus } from './launcher-process';
import { PROTOCOL_ERROR, RuntimeClient } from './runtime-client';
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
  async start(launcherPath: string, args: string[]): Promise<void> {
    const timeout = this.parts.config.start_timeout_ms;
    const launcher = LauncherProcess.spawn(launcherPath, args, this.parts.log, this.fields);
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
    try {
      return await this.runOnce(inv);
    } finally {
      this.busy = false;
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
    try {
      let outcome: InvocationOutcome;
      try {
        outcome = await this.client!.run(inv, deadline.signal);
      } catch (err) {
        if (deadline.passed) return await this.timedOut();
        return await this.diedDuring(before, deadline, err as Error);
      }
      return await this.afterReply(outcome, before);
    } finally {
      deadline.clear();
    }
  }

  private async timedOut(): Promise<InvocationOutcome> {
    const ms = this.fn.limits.timeoutMs;
    await this.destroy(`an invocation exceeded the timeout of ${ms} ms`);
    return { ok: false, failure: { kind: 'timeout', message: `function ${this.fn.name} exceeded its timeout of ${ms} ms; raise limits.timeout_ms in ol.yaml (the operator caps it) or make it faster` } };
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
    await this.destroy('the instance died during an invocation');
    await within(this.launcher!.output.whenEnded(), DRAIN_MS);
    const exit = this.launcher!.exitStatus ?? { code: null, signal: null };
    const failure = diagnoseDeath({ fnName: this.fn.name, limits: this.fn.limits, before, after, exit, stderrTail: this.launcher!.output.stderrTail() });
    this.parts.log.info({ ...this.fields, kind: failure.kind }, 'sandbox instance died during an invocation');
    return { ok: false, failure };
  }

  /**
   * A fork that failed at pids.max leaves the instance with stray processes
   * holding its slots (or copies of the runtime sharing its socket): say so
   * to the author, and retire the instance so the next request gets a clean one.
   */
  private async afterReply(outcome: InvocationOutcome, before: CgroupStats): Promise<InvocationOutcome> {
    const after = await this.cgroup.stats().catch(() => before);
    this.baseline = after;
    if (after.pidsLimitHits <= before.pidsLimitHits) return outcome;
    await this.destroy(`an invocation hit the process limit of ${this.fn.limits.procs}`);
    if (outcome.ok) return outcome;
    // Forked copies of the runtime may all answer on the one connection: a garbled reply says nothing about the function.
    if (outcome.failure.type === PROTOCOL_ERROR) return { ok: false, failure: pidsFailure(this.fn.name, this.fn.limits, 'its forked copies garbled the answer') };
    outcome.failure.message += pidsLimitHint(this.fn.limits);
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
    this.parts.log.info({ ...this.fields, reason }, 'destroying sandbox');
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
    await step('remove cgroup', () => this.cgroup.destroy());
    await step('remove directories', () => this.parts.dirs.remove());
    this.parts.onGone(this);
    if (problems.length) this.parts.log.error({ ...this.fields, problems }, 'sandbox teardown left something behind');
  }
}
