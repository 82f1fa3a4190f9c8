import { EventEmitter, once } from 'node:events';
import * as path from 'node:path';
import { Tokens, inject, injectable, type InvocationRecord, type InvocationRecords, type Logger, type WorkerPaths } from '../../core';
import type { DebugRecordsConfig } from './config';
import { RecordFiles, isSafeName, summarize, type RecordSummary } from './record-files';

/** Bound on bytes of records waiting to be written: memory stays bounded when the disk is slow. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

/**
 * Keeps each function's recent invocation records on disk, bounded three
 * ways: records per function, their age, and the number of functions (so a
 * worker that has run many functions does not grow without end). record()
 * only queues the write: it runs on the request path.
 */
@injectable()
export class RecordStore implements InvocationRecords {
  readonly files: RecordFiles;
  /** Per function, oldest first; a Map keeps functions in the order they were last recorded. */
  private readonly index = new Map<string, RecordSummary[]>();
  private readonly events = new EventEmitter();
  private writes: Promise<void> = Promise.resolve();
  /** Bytes of records queued and not yet on disk; past MAX_PENDING_BYTES new ones are dropped (the disk cannot keep up). */
  private pendingBytes = 0;
  private dropped = 0;
  private sweeper?: NodeJS.Timeout;

  constructor(
    @inject(Tokens.PluginConfig) private readonly config: DebugRecordsConfig,
    @inject(Tokens.WorkerPaths) paths: WorkerPaths,
    @inject(Tokens.Logger) private readonly log: Logger,
  ) {
    this.files = new RecordFiles(config.dir ?? path.join(paths.root, 'debug'));
    this.events.setMaxListeners(0); // one per `ol logs --follow` client
  }

  async start(): Promise<void> {
    for (const [fn, list] of await this.files.scan()) this.index.set(fn, list);
    await this.sweep();
    // Age is checked on a timer as well: a function nobody calls any more still loses its old records.
    this.sweeper = setInterval(() => void this.sweep(), Math.min(this.config.max_age_s * 100, 60_000));
    this.sweeper.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    await this.writes;
    this.events.emit('stop');
  }

  record(rec: InvocationRecord): void {
    if (!isSafeName(rec.function) || !isSafeName(rec.requestId)) {
      this.log.warn({ fn: rec.function, reqId: rec.requestId }, 'not recording an invocation whose function name or request id cannot be a directory name');
      return;
    }
    const bytes = 1024 + (rec.output ? rec.output.stdout.length + rec.output.stderr.length : 0);
    if (this.pendingBytes + bytes > MAX_PENDING_BYTES) {
      if (this.dropped++ % 100 === 0) this.log.warn({ fn: rec.function, reqId: rec.requestId, dropped: this.dropped }, 'invocation records arrive faster than the disk stores them; dropping some');
      return;
    }
    this.pendingBytes += bytes;
    this.writes = this.writes
      .then(() => this.store(rec))
      .catch((e) => this.log.error({ fn: rec.function, reqId: rec.requestId, err: e }, 'cannot store an invocation record'))
      .finally(() => (this.pendingBytes -= bytes));
  }

  /** Records of `fn`, oldest first (after `after`, a request id, when given). */
  list(fn: string, after?: string): RecordSummary[] {
    const list = this.fresh(this.index.get(fn) ?? []);
    if (!after) return list;
    const i = list.findIndex((r) => r.requestId === after);
    return i < 0 ? list : list.slice(i + 1);
  }

  /** Waits up to `ms` for a record of `fn` after `after`; resolves with what there is then. */
  async waitFor(fn: string, after: string | undefined, ms: number, signal?: AbortSignal): Promise<RecordSummary[]> {
    const now = this.list(fn, after);
    if (now.length) return now;
    const timeout = AbortSignal.timeout(ms);
    const stop = signal ? AbortSignal.any([timeout, signal]) : timeout;
    try {
      while (!stop.aborted) {
        const [name] = await once(this.events, 'record', { signal: stop });
        if (name === fn) break;
      }
    } catch {
      // timed out, or the client went away
    }
    return this.list(fn, after);
  }

  has(fn: string, requestId: string): boolean {
    return this.list(fn).some((r) => r.requestId === requestId);
  }

  private async store(rec: InvocationRecord): Promise<void> {
    await this.files.write(rec);
    const list = this.index.get(rec.function) ?? [];
    this.index.delete(rec.function); // re-inserted last: the most recently recorded function
    list.push(summarize(rec));
    this.index.set(rec.function, list);
    while (list.length > this.config.keep_per_function) await this.files.remove(rec.function, list.shift()!.requestId);
    while (this.index.size > this.config.max_functions) {
      const [oldest] = this.index.keys();
      this.index.delete(oldest);
      await this.files.remove(oldest);
    }
    this.events.emit('record', rec.function);
  }

  private fresh(list: RecordSummary[]): RecordSummary[] {
    const cutoff = new Date(Date.now() - this.config.max_age_s * 1000).toISOString();
    return list.filter((r) => r.startedAt >= cutoff);
  }

  /** Remove records past max_age_s (queued behind the writes). */
  private sweep(): Promise<void> {
    this.writes = this.writes.then(async () => {
      for (const [fn, list] of this.index) {
        const keep = this.fresh(list);
        for (const r of list.filter((x) => !keep.includes(x))) await this.files.remove(fn, r.requestId);
        if (keep.length) this.index.set(fn, keep);
        else {
          this.index.delete(fn);
          await this.files.remove(fn);
        }
      }
    }).catch((e) => this.log.error({ err: e }, 'cannot remove old invocation records'));
    return this.writes;
  }
}
