import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The repository root (this file is compiled to dist/bench/lib/). */
export const REPO = path.resolve(__dirname, '../../..');
export const EXAMPLES = path.join(REPO, 'examples');

/**
 * What a suite gets: the mode, a scratch dir, resources shared by the parts
 * of the suite (a worker, a baseline measured once) and cleanup that runs
 * when the suite ends, even when it throws or the user presses Ctrl-C.
 * Each suite has its own (bench/run.ts): nothing of one suite outlives it.
 */
export class BenchContext {
  readonly tmpDir: string;
  private readonly memo = new Map<string, Promise<unknown>>();
  private readonly cleanups: Array<() => Promise<void> | void> = [];

  constructor(readonly quick: boolean, private readonly verbose: boolean) {
    // Short: sandbox socket paths below it must fit in sun_path (108 bytes).
    this.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'olb-'));
  }

  /** `full` normally, `quick` with --quick. */
  pick<T>(full: T, quick: T): T {
    return this.quick ? quick : full;
  }

  /** Progress on stderr, so stdout holds only the table. */
  log(msg: string): void {
    if (this.verbose) process.stderr.write(`  ${msg}\n`);
  }

  /**
   * Measure or start something once per suite and share it between the
   * suite's parts: e.g. the worker under test, asked for by each helper.
   */
  shared<T>(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make();
      this.memo.set(key, p);
      p.catch(() => this.memo.delete(key));
    }
    return p;
  }

  /** Register a release step; they run last-registered first at the end of the suite. */
  onCleanup(fn: () => Promise<void> | void): void {
    this.cleanups.push(fn);
  }

  /** A fresh directory under the run's scratch dir. */
  mkdir(prefix: string): string {
    return fs.mkdtempSync(path.join(this.tmpDir, prefix));
  }

  async cleanup(): Promise<void> {
    while (this.cleanups.length) {
      const fn = this.cleanups.pop()!;
      try {
        await fn();
      } catch (e) {
        process.stderr.write(`bench: cleanup failed: ${(e as Error).message}\n`);
      }
    }
    fs.rmSync(this.tmpDir, { recursive: true, force: true });
  }
}
