import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CgroupDriverBase,
  Tokens,
  cgroupOpObserver,
  descendantCgroups,
  inject,
  injectable,
  isWritable,
  knobSpec,
  makeCgroupDir,
  removeCgroupDir,
  type Cgroup,
  type CgroupDriverConfig,
  type Logger,
  type Metrics,
} from '../../core';
import { V2Cgroup, killSubtree, waitForEvent } from './cgroup';
import { OPTIONAL_CONTROLLERS, REQUIRED_CONTROLLERS, controllersOf, findCgroup2Mount, ownCgroupDir, prepareSubtree, type V2Subtree } from './subtree';

/** cgroup.kill, which killAll() and cleanup rely on, arrived in Linux 5.14. */
const MIN_KERNEL = [5, 14];

function kernelAtLeast([major, minor]: number[]): boolean {
  const [a, b] = os.release().split('.').map((x) => parseInt(x, 10));
  return a > major || (a === major && b >= minor);
}

/** Cgroup driver for the unified (v2) hierarchy; layout in subtree.ts and README.md. */
@injectable()
export class CgroupV2Driver extends CgroupDriverBase<V2Subtree> {
  readonly version = 'v2';
  /** Known once init() ran: which controllers sandboxes got, and where their cgroups live. */
  private subtreeInfo?: V2Subtree;

  constructor(
    @inject(Tokens.PluginConfig) config: CgroupDriverConfig,
    @inject(Tokens.Logger) log: Logger,
    @inject(Tokens.Metrics) metrics?: Metrics,
  ) {
    // Every operation's duration goes to ol_cgroup_op_seconds; slow and failed ones to ol_cgroup_anomalies_total.
    super(config, log, metrics && cgroupOpObserver(metrics, 'v2'));
  }

  async probe(): Promise<boolean> {
    const reason = await this.unusableReason();
    if (reason) this.log.info({ mount: this.config.mount, reason }, 'cgroup v2 driver cannot work on this host');
    return reason === undefined;
  }

  /** A key works when its controller is enabled for sandboxes and this kernel has its file. */
  knobSupport(key: string): string | undefined {
    const sub = this.subtreeInfo;
    const spec = knobSpec(key);
    if (!sub || !spec) return undefined;
    if (!sub.controllers.includes(spec.controller)) return `not available on this host: the ${spec.controller} controller is not enabled for sandboxes (the worker's cgroup does not offer it; delegate it to the worker)`;
    if (!existsSync(path.join(sub.scopeDir, key))) return `not available on this host: this kernel (Linux ${os.release()}) has no ${key}`;
    return undefined;
  }

  protected async prepare(scope: string): Promise<V2Subtree> {
    const mount = await findCgroup2Mount(this.config.mount);
    if (!mount) throw new Error(`${this.config.mount} is not a cgroup2 mount; set cgroup-v2.mount or use the cgroup-v1 driver`);
    this.subtreeInfo = await prepareSubtree(mount, scope, this.log, (dir) => this.removeSandboxes(dir));
    return this.subtreeInfo;
  }

  protected async makeCgroup(subtree: V2Subtree, name: string): Promise<Cgroup> {
    const dir = path.join(subtree.scopeDir, name);
    if (!(await makeCgroupDir(dir))) throw new Error(`cgroup ${dir} already exists: sandbox names must be unique within a worker`);
    return new V2Cgroup(name, dir, this.ops, this.config.give_up_ms);
  }

  /**
   * Kills and removes <scope> with every sandbox in it. The worker stays in its
   * leaf and <own>'s subtree_control stays as is: the worker is about to exit,
   * and moving it back into <own> is impossible while controllers are enabled there.
   */
  protected async remove(subtree: V2Subtree): Promise<void> {
    await this.removeSandboxes(subtree.scopeDir);
    await this.removeEmpty(subtree.scopeDir);
  }

  /** Kills every process under scopeDir and removes every cgroup below it. */
  private async removeSandboxes(scopeDir: string): Promise<void> {
    if (!existsSync(scopeDir)) return;
    const children = await descendantCgroups(scopeDir);
    if (children.length) this.log.warn({ scope: scopeDir, sandboxes: children.map((d) => path.relative(scopeDir, d)) }, 'removing sandbox cgroups still present in the scope');
    await killSubtree(scopeDir, this.config.give_up_ms);
    for (const dir of children) await this.removeEmpty(dir);
  }

  private removeEmpty(dir: string): Promise<void> {
    return removeCgroupDir(dir, (ms) => waitForEvent(dir, 'populated', '0', ms), this.config.give_up_ms);
  }

  private async unusableReason(): Promise<string | undefined> {
    const mount = await findCgroup2Mount(this.config.mount);
    if (!mount) return `${this.config.mount} is not a cgroup2 mount (hybrid or v1-only host?)`;
    const own = await ownCgroupDir(mount);
    if (!own) return 'this process is in no cgroup2 cgroup';
    const available = await controllersOf(own);
    const missing = REQUIRED_CONTROLLERS.filter((c) => !available.includes(c));
    if (missing.length) return `the ${missing.join(', ')} controller(s) are not available in ${own} (cgroup.controllers: ${available.join(' ') || 'none'})`;
    if (!(await isWritable(path.join(own, 'cgroup.subtree_control')))) return `${own} is not writable: the worker needs its cgroup delegated to it`;
    if (!kernelAtLeast(MIN_KERNEL)) return `Linux ${os.release()} has no cgroup.kill (needs ${MIN_KERNEL.join('.')} or later)`;
    for (const c of OPTIONAL_CONTROLLERS.filter((x) => !available.includes(x))) this.log.info({ controller: c, cgroup: own }, `the ${c} controller is not available: sandboxes will get no ${c} limit`);
    return undefined;
  }
}
