import type { Readable } from 'node:stream';

/**
 * Lines from the status pipe: the launcher's `pid N`, then the runtime's
 * `ready` (or `error ...`). next() resolves null at end of file, which
 * comes when every process holding the pipe has exited or closed it.
 */
export class StatusLines {
  private buffered = '';
  private readonly lines: string[] = [];
  private ended = false;
  private wake?: () => void;

  constructor(stream: Readable) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (this.buffered + chunk).split('\n');
      this.buffered = parts.pop()!;
      this.lines.push(...parts);
      this.wake?.();
    });
    const end = () => {
      if (this.buffered) this.lines.push(this.buffered);
      this.buffered = '';
      this.ended = true;
      this.wake?.();
    };
    stream.once('end', end);
    stream.once('close', end);
    stream.once('error', end);
  }

  async next(): Promise<string | null> {
    while (!this.lines.length && !this.ended) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
    return this.lines.shift() ?? null;
  }
}
