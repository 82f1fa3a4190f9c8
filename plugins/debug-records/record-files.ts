import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { InvocationRecord } from '../../core';

/** What the index keeps of each record: enough to list and prune without reading files. */
export interface RecordSummary {
  requestId: string;
  startedAt: string;
  durationMs: number;
  outcome: InvocationRecord['outcome'];
}

/** A record as stored: everything but the output, which has files of its own. */
export type StoredRecord = Omit<InvocationRecord, 'output'> & {
  output?: { stdoutBytes: number; stderrBytes: number; truncated: boolean };
};

/** The parts of a record served at /debug/<fn>/<id>/<part>. */
export type OutputStream = 'stdout' | 'stderr';

const SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Names that may become directory names (function names, request ids): one path component, not hidden. */
export function isSafeName(name: string): boolean {
  return SAFE.test(name) && name !== '.' && name !== '..';
}

/**
 * One record on disk: `<root>/<fn>/<request id>/` holding `record.json`,
 * `stdout` and `stderr` (written as plain files so an operator can `tail` them).
 */
export class RecordFiles {
  constructor(private readonly root: string) {}

  dir(fn: string, requestId: string): string {
    return path.join(this.root, fn, requestId);
  }

  async write(rec: InvocationRecord): Promise<void> {
    const dir = this.dir(rec.function, rec.requestId);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const { output, ...rest } = rec;
    const stored: StoredRecord = { ...rest, ...(output ? { output: { stdoutBytes: output.stdoutBytes, stderrBytes: output.stderrBytes, truncated: output.truncated } } : {}) };
    await fs.writeFile(path.join(dir, 'stdout'), output?.stdout ?? '');
    await fs.writeFile(path.join(dir, 'stderr'), output?.stderr ?? '');
    // Written last: a record without record.json is incomplete and skipped on load.
    await fs.writeFile(path.join(dir, 'record.json'), JSON.stringify(stored));
  }

  async read(fn: string, requestId: string): Promise<StoredRecord | null> {
    try {
      return JSON.parse(await fs.readFile(path.join(this.dir(fn, requestId), 'record.json'), 'utf8')) as StoredRecord;
    } catch {
      return null;
    }
  }

  async readStream(fn: string, requestId: string, stream: OutputStream): Promise<string | null> {
    try {
      return await fs.readFile(path.join(this.dir(fn, requestId), stream), 'utf8');
    } catch {
      return null;
    }
  }

  async remove(fn: string, requestId?: string): Promise<void> {
    await fs.rm(requestId ? this.dir(fn, requestId) : path.join(this.root, fn), { recursive: true, force: true });
  }

  /** Every complete record on disk, per function, for rebuilding the index at start. */
  async scan(): Promise<Map<string, RecordSummary[]>> {
    const found = new Map<string, RecordSummary[]>();
    await fs.mkdir(this.root, { recursive: true, mode: 0o700 });
    for (const fn of await fs.readdir(this.root)) {
      if (!isSafeName(fn)) continue;
      const ids = await fs.readdir(path.join(this.root, fn)).catch(() => [] as string[]);
      const list: RecordSummary[] = [];
      for (const id of ids) {
        const rec = await this.read(fn, id);
        if (rec) list.push(summarize(rec));
        else await this.remove(fn, id); // incomplete: the worker stopped mid-write
      }
      list.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
      if (list.length) found.set(fn, list);
    }
    return found;
  }
}

export function summarize(rec: StoredRecord | InvocationRecord): RecordSummary {
  return { requestId: rec.requestId, startedAt: rec.startedAt, durationMs: rec.durationMs, outcome: rec.outcome };
}
