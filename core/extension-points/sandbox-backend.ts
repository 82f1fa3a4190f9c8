import { defineExtensionPoint } from '../plugin/extension-point';
import type { LoadedFunction } from '../functions/function-config';
import type { Invocation, InvocationOutcome } from '../invoke/invocation';
import type { Cgroup } from './cgroup-driver';

export type SandboxState = 'starting' | 'running' | 'paused' | 'dead';

/** A live instance of one function version, serving one request at a time. */
export interface Sandbox {
  readonly id: string;
  readonly fn: LoadedFunction;
  /** Host pid of the sandbox's init process (for inspection and tests). */
  readonly pid: number;
  readonly cgroup: Cgroup;
  readonly state: SandboxState;
  /**
   * Run one invocation. Never rejects for function failures: a raised
   * exception, an OOM kill or the timeout come back as `{ ok: false }`.
   * After a failure other than exception/load/bad-return/exit the sandbox is dead.
   */
  invoke(inv: Invocation): Promise<InvocationOutcome>;
  pause(): Promise<void>;
  unpause(): Promise<void>;
  /** Kill every process, wait for the kernel to confirm, release all resources. Idempotent. */
  destroy(reason: string): Promise<void>;
}

/**
 * Creates sandboxes. Combination: `exclusive`: one backend serves the worker;
 * `select.SandboxBackend` picks it when several are loaded.
 */
export interface SandboxBackend {
  create(fn: LoadedFunction): Promise<Sandbox>;
  /**
   * Optional (zygotes): start a fork server for the synthetic function
   * `template` (role `zygote`) that has imported `modules`. With `parent`, it
   * is forked from that zygote and imports only the modules the parent lacks.
   */
  createZygote?(template: LoadedFunction, modules: string[], parent?: Zygote): Promise<Zygote>;
  /**
   * Optional (zygotes): a new sandbox for `fn` whose runtime is forked from
   * `parent` (so its imports are already done). Throws when the fork fails;
   * the caller falls back to `create`.
   */
  forkFrom?(parent: Zygote, fn: LoadedFunction): Promise<Sandbox>;
  /** Remove what a crashed worker left behind (scratch dirs, processes). */
  cleanupStale(): Promise<void>;
}

export const SandboxBackendPoint = defineExtensionPoint<SandboxBackend>({
  id: 'SandboxBackend',
  combine: 'exclusive',
  optional: false,
});

/** A sandbox whose runtime has imported a set of modules and forks new sandboxes on request. */
export interface Zygote {
  readonly sandbox: Sandbox;
  /** Modules it imported. */
  readonly modules: string[];
  /** Host pid of its fork server (the Python process), for inspection. */
  readonly serverPid: number;
  /** fds its fork server held once ready (its own, and the imported packages'). */
  readonly baselineFds: number[];
}
