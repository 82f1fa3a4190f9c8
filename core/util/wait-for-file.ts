import * as fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

export interface WaitForFileOptions {
  /** Give up (reject with WaitTimeoutError) after this long. */
  timeoutMs: number;
  /**
   * Poll instead of watching, for files the kernel changes without an inotify
   * event (cgroup v1's freezer.state and cgroup.procs): re-read after pollMs,
   * then after twice as long each time, up to maxPollMs.
   */
  pollMs?: number;
  maxPollMs?: number;
}

export interface WaitResult {
  /** The content that satisfied the predicate. */
  content: string;
  elapsedMs: number;
}

/** The kernel never produced the awaited content; carries what the file last held. */
export class WaitTimeoutError extends Error {
  constructor(
    readonly path: string,
    readonly timeoutMs: number,
    readonly lastContent: string | undefined,
  ) {
    const last = lastContent === undefined ? 'never read' : JSON.stringify(lastContent.trim());
    super(`gave up after ${timeoutMs} ms waiting for ${path} to change (it last held ${last})`);
    this.name = 'WaitTimeoutError';
  }
}

const DEFAULT_MAX_POLL_MS = 64;

/**
 * Resolves once `predicate` accepts the content of `path`. Without `pollMs` it
 * waits on inotify (fs.watch), re-reading after every event, and once right
 * after the watch is armed so a change between the caller's action and the
 * arming is not missed. Every watcher and timer is released on every path out.
 * Rejects with WaitTimeoutError after timeoutMs, or with the read error.
 */
export function waitForFileContent(
  path: string,
  predicate: (content: string) => boolean,
  opts: WaitForFileOptions,
): Promise<WaitResult> {
  return opts.pollMs === undefined ? watchFile(path, predicate, opts.timeoutMs) : pollFile(path, predicate, opts);
}

function watchFile(path: string, predicate: (content: string) => boolean, timeoutMs: number): Promise<WaitResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let watcher: fs.FSWatcher | undefined;
    let timer: NodeJS.Timeout | undefined;
    let last: string | undefined;
    let reading = false;
    let dirty = false;
    let done = false;
    const finish = (err: Error | undefined, content?: string) => {
      if (done) return;
      done = true;
      watcher?.close();
      clearTimeout(timer);
      if (err) reject(err);
      else resolve({ content: content!, elapsedMs: performance.now() - started });
    };
    // One read at a time; events arriving meanwhile trigger exactly one more read.
    const check = async () => {
      if (done) return;
      if (reading) {
        dirty = true;
        return;
      }
      reading = true;
      do {
        dirty = false;
        try {
          last = await readFile(path, 'utf8');
          if (predicate(last)) return finish(undefined, last);
        } catch (e) {
          return finish(e as Error);
        }
      } while (dirty && !done);
      reading = false;
    };
    try {
      watcher = fs.watch(path, () => void check());
    } catch (e) {
      return finish(e as Error);
    }
    watcher.on('error', (e) => finish(e));
    timer = setTimeout(() => finish(new WaitTimeoutError(path, timeoutMs, last)), timeoutMs);
    void check();
  });
}

async function pollFile(path: string, predicate: (content: string) => boolean, opts: WaitForFileOptions): Promise<WaitResult> {
  const started = performance.now();
  const backoff = new Backoff(opts.pollMs!, opts.maxPollMs ?? DEFAULT_MAX_POLL_MS);
  for (;;) {
    const content = await readFile(path, 'utf8');
    const elapsedMs = performance.now() - started;
    if (predicate(content)) return { content, elapsedMs };
    if (elapsedMs >= opts.timeoutMs) throw new WaitTimeoutError(path, opts.timeoutMs, content);
    await backoff.wait(opts.timeoutMs - elapsedMs);
  }
}

/**
 * Exponential backoff for conditions Linux announces with no event (a cgroup
 * v1 file, an rmdir that is still EBUSY): the first retries come quickly, so
 * the common fast case stays fast, and a slow one does not spin.
 */
export class Backoff {
  private nextMs: number;

  constructor(
    firstMs: number,
    private readonly maxMs: number,
  ) {
    this.nextMs = Math.max(firstMs, 1);
  }

  /** Waits the next interval (never more than capMs) and doubles the one after. */
  async wait(capMs = Infinity): Promise<void> {
    const ms = Math.max(0, Math.min(this.nextMs, capMs));
    this.nextMs = Math.min(this.nextMs * 2, this.maxMs);
    await delay(ms);
  }
}
