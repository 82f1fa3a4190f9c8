import * as path from 'node:path';
import type { Pool } from 'undici';
import type { BenchContext } from './context';
import { socketPool } from './load';
import { startBareRuntime, type RuntimeProcess } from './runtime-process';

/**
 * Bare runtimes serving echo on the host (the warm floor), started on
 * demand and kept for the whole run: `take(k)` gives the first k.
 */
export class BareRuntimes {
  private readonly started: RuntimeProcess[] = [];

  constructor(private readonly ctx: BenchContext) {
    ctx.onCleanup(() => this.stopAll());
  }

  async take(k: number): Promise<RuntimeProcess[]> {
    while (this.started.length < k) {
      this.started.push(await startBareRuntime(path.join(this.ctx.tmpDir, `bare${this.started.length}`)));
    }
    return this.started.slice(0, k);
  }

  /** One pool per runtime, with enough connections for `concurrency` loops spread over them. */
  async pools(k: number, concurrency: number): Promise<Pool[]> {
    const runtimes = await this.take(k);
    const pools = runtimes.map((rt) => socketPool(rt.socket, Math.ceil(concurrency / k)));
    this.ctx.onCleanup(() => Promise.all(pools.map((p) => p.close())).then(() => undefined));
    return pools;
  }

  private async stopAll(): Promise<void> {
    await Promise.all(this.started.map((rt) => rt.kill()));
  }
}

/** The suite's bare runtimes (the floor), started on first use. */
export function sharedBareRuntimes(ctx: BenchContext): Promise<BareRuntimes> {
  return ctx.shared('bare-runtimes', async () => new BareRuntimes(ctx));
}
