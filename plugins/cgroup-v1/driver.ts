import * as path from 'node:path';
import {
  CgroupDriverBase,
  Tokens,
  cgroupOpObserver,
  descendantCgroups,
  inject,
  injectable,
  makeCgroupDir,
  removeCgroupDir,
  type Cgroup,
  type CgroupDriverConfig,
  type Logger,
  type Metrics,
} from '../../core';
import { V1Cgroup } from './cgroup';
import { killAllIn, waitProcsEmpty } from './freezer';
import { prepareCpusetScope } from './cpuset';
import { v1Unsupported } from './knob-map';
import { childDirs, discoverHierarchies, distinctDirs, type Discovery, type HierarchyDirs } from './hierarchies';

/**
 * Cgroup driver for v1 hierarchies (hybrid and legacy hosts). In each of the
 * memory, pids, cpu, cpuacct and freezer hierarchies, and in cpuset, blkio
 * and hugetlb where the host mounts them, the worker's subtree is
 * `<its own cgroup there>/<scope>/<sandbox>`. v1 has no "no internal
 * processes" rule, so the worker stays where it is.
 */
@injectable()
export class CgroupV1Driver extends CgroupDriverBase<HierarchyDirs> {
  readonly version = 'v1';
  /** The scope's directories, once init() made them (knobSupport looks for files there). */
  private scopeDirs?: HierarchyDirs;
  /** Why an optional hierarchy (cpuset, blkio, hugetlb) is not used here: the reason its keys are refused. */
  private missing: Discovery['missing'] = {};

  constructor(
    @inject(Tokens.PluginConfig) config: CgroupDriverConfig,
    @inject(Tokens.Logger) log: Logger,
    @inject(Tokens.Metrics) metrics?: Metrics,
  ) {
    // Every operation's duration goes to ol_cgroup_op_seconds; slow and failed ones to ol_cgroup_anomalies_total.
    super(config, log, metrics && cgroupOpObserver(metrics, 'v1'));
  }

  async probe(): Promise<boolean> {
    const { problems } = await discoverHierarchies(this.config.mount);
    if (problems.length) this.log.info({ mount: this.config.mount, problems }, 'cgroup v1 driver cannot work on this host');
    return problems.length === 0;
  }

  knobSupport(key: string, value: string): string | undefined {
    if (!this.scopeDirs) return undefined;
    return v1Unsupported(key, value, this.scopeDirs, this.missing);
  }

  /** <own>/<scope> in every hierarchy. */
  protected async prepare(scope: string): Promise<HierarchyDirs> {
    const { own, problems, missing } = await discoverHierarchies(this.config.mount);
    if (!own) throw new Error(`cgroup v1 hierarchies unusable: ${problems.join('; ')}`);
    if (Object.keys(missing).length) this.log.info({ missing }, 'cgroup v1: keys of these controllers are refused on this host');
    const scopeDirs = childDirs(own, scope);
    let existed = false;
    for (const dir of distinctDirs(scopeDirs)) if (!(await makeCgroupDir(dir))) existed = true;
    if (existed) await this.removeSandboxes(scopeDirs);
    if (scopeDirs.cpuset) await prepareCpusetScope(scopeDirs.cpuset);
    this.scopeDirs = scopeDirs;
    this.missing = missing;
    return scopeDirs;
  }

  protected async makeCgroup(scopeDirs: HierarchyDirs, name: string): Promise<Cgroup> {
    const dirs = childDirs(scopeDirs, name);
    const made: string[] = [];
    for (const dir of distinctDirs(dirs)) {
      if (await makeCgroupDir(dir)) {
        made.push(dir);
        continue;
      }
      // Only what this call made, which nothing has joined yet: rmdir cannot be busy.
      for (const m of made) await removeCgroupDir(m, () => Promise.resolve(), 0).catch(() => undefined);
      throw new Error(`cgroup ${dir} already exists: sandbox names must be unique within a worker`);
    }
    return new V1Cgroup(name, dirs, this.ops, this.config.give_up_ms, this.log);
  }

  /** Kills everything in the subtree and removes it in every hierarchy. */
  protected async remove(scopeDirs: HierarchyDirs): Promise<void> {
    await this.removeSandboxes(scopeDirs);
    for (const dir of distinctDirs(scopeDirs)) await this.removeEmpty(dir);
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
    for (const dir of children) await this.removeEmpty(dir);
  }

  private removeEmpty(dir: string): Promise<void> {
    return removeCgroupDir(dir, (ms) => waitProcsEmpty(dir, ms), this.config.give_up_ms);
  }
}
