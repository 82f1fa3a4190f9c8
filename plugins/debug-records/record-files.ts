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

/** A record file's content: the stored record and its output. */
type RecordFile = StoredRecord & { stdout: string; stderr: string };

const SUFFIX = '.json';

/**
 * One record on disk: `<root>/<fn>/<request id>.json`, the record with its
 * stdout and stderr. One file, because every invocation writes a record:
 * a directory of three files cost a mkdir, three writes and, when pruned,
 * a readdir, three unlinks and a rmdir per request on the worker's thread.
 *
 * Records of calls that succeeded and printed nothing (most calls) stay in
 * memory only: they hold nothing worth a file write per request, and
 * nothing a restart would need. They are listed and served like the others
 * and bounded by the same rules, which the store applies to both.
 */
export class RecordFiles {
  /** Per function, by request id: the records kept in memory only. */
  private readonly light = new Map<string, Map<string, RecordFile>>();

  constructor(private readonly root: string) {}

  file(fn: string, requestId: string): string {
    return path.join(this.root, fn, requestId + SUFFIX);
  }

  async write(rec: InvocationRecord): Promise<void> {
    const { output, ...rest } = rec;
    const stored: RecordFile = {
      ...rest,
      ...(output ? { output: { stdoutBytes: output.stdoutBytes, stderrBytes: output.stderrBytes, truncated: output.truncated } } : {}),
      stdout: output?.stdout ?? '',
      stderr: output?.stderr ?? '',
    };
    if (rec.outcome === 'ok' && !stored.stdout && !stored.stderr) {
      const forFn = this.light.get(rec.function) ?? new Map<string, RecordFile>();
      this.light.set(rec.function, forFn.set(rec.requestId, stored));
      return;
    }
    const file = this.file(rec.function, rec.requestId);
    const text = JSON.stringify(stored);
    // The function's directory exists after its first record: create it only when missing.
    await fs.writeFile(file, text, { mode: 0o600 }).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      await fs.writeFile(file, text, { mode: 0o600 });
    });
  }

  async read(fn: string, requestId: string): Promise<StoredRecord | null> {
    const stored = await this.readFile(fn, requestId);
    if (!stored) return null;
    const { stdout: _out, stderr: _err, ...rec } = stored;
    return rec;
  }

  async readStream(fn: string, requestId: string, stream: OutputStream): Promise<string | null> {
    return (await this.readFile(fn, requestId))?.[stream] ?? null;
  }

  async remove(fn: string, requestId?: string): Promise<void> {
    const forFn = this.light.get(fn);
    if (requestId && forFn?.delete(requestId)) {
      if (forFn.size === 0) this.light.delete(fn);
      return;
    }
    if (requestId) return fs.rm(this.file(fn, requestId), { force: true });
    this.light.delete(fn);
    await fs.rm(path.join(this.root, fn), { recursive: true, force: true });
  }

  /** Every complete record on disk, per function, for rebuilding the index at start. */
  async scan(): Promise<Map<string, RecordSummary[]>> {
    const found = new Map<string, RecordSummary[]>();
    await fs.mkdir(this.root, { recursive: true, mode: 0o700 });
    for (const fn of await fs.readdir(this.root)) {
      if (!isSafeName(fn)) continue;
      const names = await fs.readdir(path.join(this.root, fn)).catch(() => [] as string[]);
      const list: RecordSummary[] = [];
      for (const name of names) {
        const id = name.endsWith(SUFFIX) ? name.slice(0, -SUFFIX.length) : '';
        const rec = isSafeName(id) ? await this.read(fn, id) : null;
        if (rec) list.push(summarize(rec));
        else await fs.rm(path.join(this.root, fn, name), { recursive: true, force: true }); // torn write, or not a record
      }
      list.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
      if (list.length) found.set(fn, list);
    }
    return found;
  }

  private async readFile(fn: string, requestId: string): Promise<RecordFile | null> {
    const kept = this.light.get(fn)?.get(requestId);
    if (kept) return kept;
    try {
      return JSON.parse(await fs.readFile(this.file(fn, requestId), 'utf8')) as RecordFile;
    } catch {
      return null;
    }
  }
}

export function summarize(rec: StoredRecord | InvocationRecord): RecordSummary {
  return { requestId: rec.requestId, startedAt: rec.startedAt, durationMs: rec.durationMs, outcome: rec.outcome };
}
