import * as path from 'node:path';
import {
  SlowOpReporter,
  Tokens,
  checkCgroupName,
  descendantCgroups,
  inject,
  injectable,
  makeCgroupDir,
  removeCgroupDir,
  type Cgroup,
  type CgroupDriver,
  type CgroupDriverConfig,
  type Logger,
  type ResourceLimits,
} from '../../core';
import { V1Cgroup } from './cgroup';
import { killAllIn, waitProcsEmpty } from './freezer';
import { childDirs, discoverHierarchies, distinctDirs, type HierarchyDirs } from './hierarchies';

/**
 * Cgroup driver for v1 hierarchies (hybrid and legacy hosts). In each of the
 * memory, pids, cpu, cpuacct and freezer hierarchies the worker's subtree is
 * `<its own cgroup there>/<scope>/<sandbox>`. v1 has no "no internal
 * processes" rule, so the worker stays where it is.
 */
@injectable()
export class CgroupV1Driver implements CgroupDriver {
  readonly version = 'v1';
  private readonly ops: SlowOpReporter;
  private scopeDirs?: HierarchyDirs;

  constructor(
    @inject(Tokens.PluginConfig) private readonly config: CgroupDriverConfig,
    @inject(Tokens.Logger) private readonly log: Logger,
  ) {
    this.ops = new SlowOpReporter(log, config.slow_ms);
  }

  async probe(): Promise<boolean> {
    const { problems } = await discoverHierarchies(this.config.mount);
    if (problems.length) this.log.info({ mount: this.config.mount, problems }, 'cgroup v1 driver cannot work on this host');
    return problems.length === 0;
  }

  async init(scope: string): Promise<void> {
    checkCgroupName(scope, 'cgroup scope');
    if (this.scopeDirs) throw new Error(`cgroup v1 driver already initialised for scope ${this.scopeDirs.memory}`);
    const { own, problems } = await discoverHierarchies(this.config.mount);
    if (!own) throw new Error(`cgroup v1 hierarchies unusable: ${problems.join('; ')}`);
    const scopeDirs = childDirs(own, scope);
    await this.ops.time('init', { scope }, async () => {
      let existed = false;
      for (const dir of distinctDirs(scopeDirs)) existed = !(await makeCgroupDir(dir)) || existed;
      if (existed) await this.removeSandboxes(scopeDirs);
    });
    this.scopeDirs = scopeDirs;
    this.log.info({ scope: distinctDirs(scopeDirs) }, 'cgroup v1 subtree ready');
  }

  async create(name: string, limits: ResourceLimits): Promise<Cgroup> {
    checkCgroupName(name, 'sandbox cgroup name');
    if (!this.scopeDirs) throw new Error('cgroup v1 driver used before init(scope)');
    const dirs = childDirs(this.scopeDirs, name);
    const cgroup = new V1Cgroup(name, dirs, this.ops, this.config.give_up_ms, this.log);
    const made: string[] = [];
    try {
      for (const dir of distinctDirs(dirs)) {
        if (!(await makeCgroupDir(dir))) throw new Error(`cgroup ${dir} already exists: sandbox names must be unique within a worker`);
        made.push(dir);
      }
      await cgroup.setLimits(limits);
    } catch (e) {
      // Only what this call made, and nothing has joined it yet: rmdir cannot be busy.
      for (const dir of made) await removeCgroupDir(dir, () => Promise.resolve(), 0).catch(() => undefined);
      throw e;
    }
    return cgroup;
  }

  /** Kills everything in the subtree and removes it in every hierarchy. */
  async shutdown(): Promise<void> {
    const scopeDirs = this.scopeDirs;
    if (!scopeDirs) return;
    this.scopeDirs = undefined;
    await this.ops.time('shutdown', { scope: scopeDirs.memory }, async () => {
      await this.removeSandboxes(scopeDirs);
      for (const dir of distinctDirs(scopeDirs)) await removeCgroupDir(dir, (ms) => waitProcsEmpty(dir, ms), this.config.give_up_ms);
    });
    this.log.info({ scope: distinctDirs(scopeDirs) }, 'cgroup v1 subtree removed');
  }

  /** Kills every process below the scope cgroups and removes every cgroup below them. */
  private async removeSandboxes(scopeDirs: HierarchyDirs): Promise<void> {
    const scopes = distinctDirs(scopeDirs);
    const children = (await Promise.all(scopes.map((d) => descendantCgroups(d)))).flat();
    const sandboxes = await descendantCgroups(scopeDirs.freezer);
    if (sandboxes.length) this.log.warn({ scope: scopeDirs.freezer, sandboxes: sandboxes.map((d) => path.relative(scopeDirs.freezer, d)) }, 'removing sandbox cgroups still present in the scope');
    // Parents before children (descendantCgroups lists children first).
    const freezers = [scopeDirs.freezer, ...sandboxes.reverse()];
    await killAllIn(freezers, [...children, ...scopes], this.config.give_up_ms, this.log);
    for (const dir of children) await removeCgroupDir(dir, (ms) => waitProcsEmpty(dir, ms), this.config.give_up_ms);
  }
}
