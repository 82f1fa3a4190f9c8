import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The repository root (this file is compiled to dist/bench/lib/). */
export const REPO = path.resolve(__dirname, '../../..');
export const EXAMPLES = path.join(REPO, 'examples');

/**
 * What every suite gets: the mode, a scratch dir, run-wide shared resources
 * (one worker, baselines measured once and reused by several suites) and
 * cleanup that runs even when a suite throws or the user presses Ctrl-C.
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
   * Measure or start something once per run and share it between suites:
   * e.g. the bubblewrap cold-start baseline that the fresh-sandbox and the
   * zygote suites both compare against, or the worker under test.
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

  /** Register a release step; they run last-registered first at the end of the run. */
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
