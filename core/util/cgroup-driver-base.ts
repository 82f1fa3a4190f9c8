import { randomBytes } from 'node:crypto';
import type { Cgroup, CgroupDriver } from '../extension-points/cgroup-driver';
import type { ResourceLimits } from '../functions/resource-limits';
import type { Logger } from '../log/logger';
import { checkCgroupName, type CgroupDriverConfig } from './cgroup-fs';
import { SlowOpReporter, type OpObserver } from './slow-op';

/**
 * The lifecycle every cgroup driver shares, whatever the cgroup version:
 * names checked before they become directories, init() once, create() that
 * removes a cgroup whose limits could not be set, an idempotent shutdown(),
 * and slow operations reported. A driver says how to build and remove its
 * subtree and how to make one sandbox's cgroup.
 */
export abstract class CgroupDriverBase<Subtree> implements CgroupDriver {
  abstract readonly version: 'v1' | 'v2';
  protected readonly ops: SlowOpReporter;
  private subtree?: Subtree;
  /** Empty cgroups made ahead of time (config.pool_size); create() takes one and a refill follows. */
  private readonly spare: Cgroup[] = [];
  private refilling?: Promise<void>;

  constructor(
    protected readonly config: CgroupDriverConfig,
    protected readonly log: Logger,
    /** Receives every operation's duration (the worker's cgroup metrics: cgroupOpObserver()). */
    observer?: OpObserver,
  ) {
    this.ops = new SlowOpReporter(log, config.slow_ms, observer);
  }

  abstract probe(): Promise<boolean>;
  /** Builds the worker's subtree for `scope`, first removing what a crashed worker with that scope left. */
  protected abstract prepare(scope: string): Promise<Subtree>;
  /** Makes a sandbox's empty cgroup; fails if it exists. */
  protected abstract makeCgroup(subtree: Subtree, name: string): Promise<Cgroup>;
  /** Kills every process in the subtree and removes it. */
  protected abstract remove(subtree: Subtree): Promise<void>;

  async init(scope: string): Promise<void> {
    checkCgroupName(scope, 'cgroup scope');
    if (this.subtree) throw new Error(`the cgroup ${this.version} driver is already initialised; init(scope) runs once per worker`);
    this.subtree = await this.ops.time('init', { scope }, () => this.prepare(scope));
    this.log.info({ subtree: this.subtree }, `cgroup ${this.version} subtree ready`);
    this.refill();
  }

  async create(name: string, limits: ResourceLimits): Promise<Cgroup> {
    checkCgroupName(name, 'sandbox cgroup name');
    if (!this.subtree) throw new Error(`the cgroup ${this.version} driver was used before init(scope)`);
    const cgroup = this.spare.shift() ?? (await this.makeCgroup(this.subtree, name));
    this.refill();
    try {
      await cgroup.setLimits(limits);
      // The function's own cgroup keys go last, so they win over the limits they refine.
      if (limits.cgroup && Object.keys(limits.cgroup).length) {
        if (!cgroup.setKnobs) throw new Error(`the cgroup ${this.version} driver cannot set cgroup keys (${Object.keys(limits.cgroup).join(', ')})`);
        await cgroup.setKnobs(limits.cgroup);
      }
    } catch (e) {
      await cgroup.destroy().catch(() => undefined);
      throw e;
    }
    return cgroup;
  }

  async shutdown(): Promise<void> {
    const subtree = this.subtree;
    if (!subtree) return;
    this.subtree = undefined;
    // A refill still making a cgroup would race the removal of the subtree; the spares go with it.
    await this.refilling;
    this.spare.length = 0;
    await this.ops.time('shutdown', {}, () => this.remove(subtree));
    this.log.info({ subtree }, `cgroup ${this.version} subtree removed`);
  }

  /** Tops the pool up to pool_size in the background; a failure is logged, and create() makes its own cgroup. */
  private refill(): void {
    const want = this.config.pool_size ?? 0;
    if (this.refilling || this.spare.length >= want) return;
    const run = async () => {
      try {
        while (this.subtree && this.spare.length < want) {
          const subtree = this.subtree;
          const name = `pool-${randomBytes(5).toString('hex')}`;
          this.spare.push(await this.ops.time('precreate', { cgroup: name }, () => this.makeCgroup(subtree, name)));
        }
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'cannot pre-create a cgroup for the pool; sandboxes make their own until the next refill');
      }
    };
    this.refilling = run().finally(() => (this.refilling = undefined));
  }
}
