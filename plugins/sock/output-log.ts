import type { Readable } from 'node:stream';
import type { Logger } from '../../core';

/** Bytes of an instance's stdout+stderr that reach the worker log; the rest is read and dropped. */
export const OUTPUT_LOG_CAP = 64 * 1024;
/** Longest line logged as one record; longer ones are split. */
const MAX_LINE = 4096;
/** Bytes of stderr kept to explain a failed start or a crash. */
const TAIL_BYTES = 4096;

/**
 * Drains a sandbox's stdout and stderr (a full pipe would block the
 * function), logs each line at info level with the sandbox and function
 * named, up to OUTPUT_LOG_CAP bytes per sandbox, and keeps the tail of
 * stderr (where the launcher reports setup errors and Python its tracebacks).
 */
export class OutputLog {
  private logged = 0;
  private capped = false;
  private tail = '';
  private readonly ended: Promise<void>[] = [];

  constructor(private readonly log: Logger, private readonly fields: Record<string, unknown>) {}

  attach(stream: Readable, name: 'stdout' | 'stderr'): void {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      if (name === 'stderr') this.tail = (this.tail + chunk).slice(-TAIL_BYTES);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      while (partial.length > MAX_LINE) {
        lines.push(partial.slice(0, MAX_LINE));
        partial = partial.slice(MAX_LINE);
      }
      for (const line of lines) this.line(name, line);
    });
    this.ended.push(
      new Promise<void>((resolve) => {
        const done = () => {
          if (partial) this.line(name, partial);
          partial = '';
          resolve();
        };
        stream.once('end', done);
        stream.once('close', done);
        stream.once('error', done);
      }),
    );
  }

  /** Resolves once every attached stream reached its end (all writers are gone). */
  whenEnded(): Promise<void> {
    return Promise.all(this.ended).then(() => undefined);
  }

  /** The last lines of stderr, trimmed, for error messages. */
  stderrTail(maxLines = 15): string {
    return this.tail.trimEnd().split('\n').slice(-maxLines).join('\n');
  }

  private line(stream: string, text: string): void {
    if (this.capped) return;
    this.logged += Buffer.byteLength(text) + 1;
    if (this.logged > OUTPUT_LOG_CAP) {
      this.capped = true;
      this.log.warn({ ...this.fields, capBytes: OUTPUT_LOG_CAP }, 'sandbox output limit reached; further output of this sandbox is dropped');
      return;
    }
    this.log.info({ ...this.fields, stream }, text);
  }
}
