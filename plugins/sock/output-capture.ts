import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { CapturedOutput } from '../../core';

/** Inside the scratch dir (/host in the sandbox): where the runtime writes each call's stdout and stderr. */
export const CAPTURE_DIR = '.ol-output';
/** Request header naming the capture files of one call (see ol_runtime.py). */
export const CAPTURE_HEADER = 'x-ol-capture';

/** The file stem for a request id: what the runtime accepts ([A-Za-z0-9_-], at most 64). */
export function captureStem(requestId: string): string {
  return requestId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'request';
}

/** The output of a call that printed nothing. */
export function noOutput(): CapturedOutput {
  return { stdout: '', stderr: '', stdoutBytes: 0, stderrBytes: 0, truncated: false };
}

/**
 * Reads (and removes) the files of one call. A stream longer than `maxBytes`
 * keeps its first and last halves around a marker, so both the start of the
 * output and the lines just before a crash survive; only those bytes are read.
 */
export async function collectOutput(scratchDir: string, stem: string, maxBytes: number): Promise<CapturedOutput> {
  const dir = path.join(scratchDir, CAPTURE_DIR);
  const [stdout, stderr] = await Promise.all([readBounded(path.join(dir, `${stem}.stdout`), maxBytes), readBounded(path.join(dir, `${stem}.stderr`), maxBytes)]);
  return { stdout: stdout.text, stderr: stderr.text, stdoutBytes: stdout.size, stderrBytes: stderr.size, truncated: stdout.truncated || stderr.truncated };
}

async function readBounded(file: string, maxBytes: number): Promise<{ text: string; size: number; truncated: boolean }> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch {
    return { text: '', size: 0, truncated: false }; // the call wrote nothing, or ran without capture
  }
  try {
    await fs.unlink(file).catch(() => undefined); // a child still writing writes to an orphan inode
    const { size } = await handle.stat();
    if (size <= maxBytes) return { text: await readAt(handle, 0, size), size, truncated: false };
    const half = Math.floor(maxBytes / 2);
    const head = await readAt(handle, 0, half);
    const tail = await readAt(handle, size - half, half);
    const marker = `\n[... ${size - 2 * half} bytes cut by OL Kernel: each stream keeps at most ${maxBytes} bytes per invocation (sock.output_max_bytes) ...]\n`;
    return { text: head + marker + tail, size, truncated: true };
  } finally {
    await handle.close();
  }
}

async function readAt(handle: fs.FileHandle, position: number, length: number): Promise<string> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead).toString('utf8');
}
