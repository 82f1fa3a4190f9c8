import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import {
  CgroupDriverPoint,
  SandboxCustomizerPoint,
  SyscallNamesPoint,
  PluginError,
  Tokens,
  inject,
  injectable,
  type Cgroup,
  type CgroupDriver,
  type SandboxAdditions,
  type SandboxCustomizer,
  type SyscallNames,
  type Metrics,
  type Histogram,
  type LoadedFunction,
  type Logger,
  type Sandbox,
  type SandboxBackend,
  type WorkerPaths,
  ZygotePoolPoint,
  type Zygote,
  type ZygotePool,
} from '../../core';
import type { SockConfig } from './config';
import { launcherArgs, launcherEnvInput } from './launcher-command';
import { runtimeDir } from './runtime-location';
import { SandboxDirs } from './sandbox-dirs';
import { LeakedCgroups } from './leaked-cgroups';
import { SockSandbox } from './sandbox';
import { forkChildZygote, forkFromZygote, startZygote, type LaunchVariant } from './zygote-sandbox';

/**
 * SOCK sandboxes: each instance is the Python runtime started by ol-launcher
 * in fresh namespaces, on a read-only root built from binds, inside a cgroup
 * of its own. The backend tracks live sandboxes so that stop() leaves nothing.
 */
@injectable()
export class SockBackend implements SandboxBackend {
  private readonly live = new Set<SockSandbox>();
  private runtime = '';
  private started = false;

  constructor(
    @inject(Tokens.PluginConfig) private readonly config: SockConfig,
    @inject(Tokens.WorkerPaths) private readonly paths: WorkerPaths,
    @inject(Tokens.Logger) private readonly log: Logger,
    @inject(CgroupDriverPoint.token) private readonly driver: CgroupDriver,
    @inject(SandboxCustomizerPoint.token) private readonly customizer: SandboxCustomizer,
    @inject(SyscallNamesPoint.token) private readonly syscalls: SyscallNames,
    @inject(Tokens.Metrics) metrics: Metrics,
    @inject(ZygotePoolPoint.token) private readonly zygotes: ZygotePool,
  ) {
    this.startSeconds = metrics.histogram({ name: 'ol_sandbox_start_seconds', help: 'Time to start a SOCK sandbox and load its function (a cold start), by function', labelNames: ['function'] });
    const live = this.live;
    metrics.gauge({
      name: 'ol_instances',
      help: 'Live SOCK sandboxes by state',
      labelNames: ['state'],
      collect() {
        this.reset();
        for (const s of live) this.inc({ state: s.state });
      },
    });
    this.leaks = new LeakedCgroups(log, metrics, driver.version);
  }

  private readonly startSeconds: Histogram<'function'>;
  /** Cgroups a teardown could not kill or remove, cleaned up in the background. */
  readonly leaks: LeakedCgroups;

  /** Check the installation, prepare the cgroup subtree and remove what a crashed worker left. */
  async start(): Promise<void> {
    await this.checkInstallation();
    await this.driver.init(this.paths.scope);
    this.started = true;
    await this.cleanupStale();
    this.log.info({ launcher: this.config.launcher, runtime: this.runtime, cgroups: this.driver.version }, 'SOCK sandbox backend ready');
  }

  /** Destroy every live sandbox, then the cgroup subtree. */
  async stop(): Promise<void> {
    if (!this.started) return;
    await Promise.all([...this.live].map((s) => s.destroy('the worker is stopping')));
    const stillLeaked = await this.leaks.stop();
    if (stillLeaked.length) this.log.error({ cgroups: stillLeaked }, 'cgroups still leaked at shutdown; removing the cgroup subtree tries once more');
    await this.driver.shutdown();
    this.started = false;
  }

  /** Sandboxes not yet destroyed. */
  get sandboxes(): readonly Sandbox[] {
    return [...this.live];
  }

  async create(fn: LoadedFunction): Promise<Sandbox> {
    if (!this.started) throw new Error('the SOCK backend is not started (or already stopped); sandboxes can be created only while the worker runs');
    // A zygote pool (plugins/zygote) forks it from pre-imported packages when it can; null: start fresh.
    const forked = fn.role ? null : await this.zygotes.sandboxFor(fn, this);
    return forked ?? this.launch(fn);
  }

  /** Zygotes: a fork server that imported `modules` (plugins/sock/zygote-sandbox.ts). */
  createZygote(template: LoadedFunction, modules: string[], parent?: Zygote): Promise<Zygote> {
    return parent ? forkChildZygote(this, this.config, parent, template, modules) : startZygote(this, this.config, template, modules);
  }

  /** Zygotes: a sandbox for `fn` whose runtime `parent` forks into it. */
  forkFrom(parent: Zygote, fn: LoadedFunction): Promise<Sandbox> {
    return forkFromZygote(this, this.config, parent, fn);
  }

  /** Start a sandbox running the runtime for `fn` (or, for zygotes, `variant.program`). */
  async launch(fn: LoadedFunction, variant: LaunchVariant = {}): Promise<SockSandbox> {
    if (!this.started) throw new Error('the SOCK backend is not started (or already stopped); sandboxes can be created only while the worker runs');
    const id = randomBytes(6).toString('hex');
    const prepared = await this.prepareAdditions(fn, id);
    const additions = variant.mounts ? { ...prepared, mounts: [...(prepared.mounts ?? []), ...variant.mounts] } : prepared;
    variant.onAdditions?.(additions);
    let dirs: SandboxDirs;
    let cgroup: Cgroup;
    try {
      dirs = await SandboxDirs.create(this.paths.sandboxes, id, this.config, additions.scratchDir);
    } catch (e) {
      await this.customizer.release?.(id);
      throw e;
    }
    try {
      cgroup = await this.driver.create(id, fn.limits);
    } catch (e) {
      await dirs.remove().catch(() => undefined);
      await this.customizer.release?.(id);
      throw new Error(`sandbox ${id} for function ${fn.name}: cannot create its cgroup: ${(e as Error).message}`);
    }
    const onGone = (s: SockSandbox) => {
      this.live.delete(s);
      void this.customizer.release?.(id);
    };
    const onServing = (requestId: string | null) => this.customizer.serving?.(id, requestId);
    const syscallName = (nr: number, arch?: string) => this.syscalls.name(nr, arch);
    const onLeak = (leaked: Cgroup, problems: string[]) => this.leaks.add(id, leaked, problems);
    const sandbox = new SockSandbox({ id, fn, cgroup, dirs, config: this.config, log: this.log, onGone, onServing, syscallName, onLeak });
    this.live.add(sandbox);
    let args: string[];
    let envInput: Buffer | undefined;
    try {
      const plan = { fn, config: this.config, rootDir: dirs.root, scratchDir: dirs.scratch, runtimeDir: this.runtime, cgroupProcsFiles: cgroup.procsFiles, additions, program: variant.program, hold: variant.hold, keepCaps: variant.keepCaps, withoutCustomizerEnv: variant.withoutCustomizerEnv };
      args = launcherArgs(plan);
      envInput = launcherEnvInput(plan);
    } catch (e) {
      await sandbox.destroy('invalid function config');
      throw e;
    }
    const startedAt = performance.now();
    await sandbox.start(path.resolve(this.config.launcher), args, envInput);
    this.startSeconds.observe({ function: fn.name }, (performance.now() - startedAt) / 1000);
    this.log.info({ sandbox: id, fn: fn.name, pid: sandbox.pid }, 'sandbox started');
    return sandbox;
  }

  /** What the SandboxCustomizer plugins (packages, secrets, quotas, seccomp...) add to this sandbox. */
  private async prepareAdditions(fn: LoadedFunction, id: string): Promise<SandboxAdditions> {
    try {
      return await this.customizer.prepare(fn, id);
    } catch (e) {
      await this.customizer.release?.(id);
      throw e;
    }
  }

  /** Remove `<sandboxes>/*` left by a crashed worker; its processes were killed by the driver's init(). */
  async cleanupStale(): Promise<void> {
    await fs.mkdir(this.paths.sandboxes, { recursive: true, mode: 0o711 });
    const liveIds = new Set([...this.live].map((s) => s.id));
    const stale = (await fs.readdir(this.paths.sandboxes)).filter((name) => !liveIds.has(name));
    for (const name of stale) {
      try {
        await SandboxDirs.at(path.join(this.paths.sandboxes, name)).remove();
      } catch (e) {
        this.log.error({ sandbox: name, err: e }, 'cannot remove a stale sandbox directory');
      }
    }
    if (stale.length) this.log.warn({ count: stale.length, dir: this.paths.sandboxes }, 'removed sandbox directories left by an earlier worker');
  }

  private async checkInstallation(): Promise<void> {
    const launcher = path.resolve(this.config.launcher);
    try {
      await fs.access(launcher, fs.constants.X_OK);
    } catch {
      throw new PluginError('sock', `the sandbox launcher ${launcher} does not exist or is not executable`, 'build it with `make -C native` (npm run build does), or set sock.launcher to its path');
    }
    try {
      this.runtime = runtimeDir();
    } catch (e) {
      throw new PluginError('sock', (e as Error).message);
    }
    const python = this.config.base_root ? path.join(this.config.base_root, this.config.python) : this.config.python;
    try {
      await fs.lstat(python);
    } catch {
      const where = this.config.base_root ? `under sock.base_root (${python})` : 'on the host';
      throw new PluginError('sock', `the sandbox interpreter ${this.config.python} does not exist ${where}`, 'install Debian\'s python3 (apt-get install python3) or set sock.python');
    }
  }
}
