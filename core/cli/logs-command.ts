import type { Command } from 'commander';
import { adminRequest, type AdminResponse } from './admin-client';
import { DEFAULT_DIR } from './worker-commands';

interface Summary {
  requestId: string;
  startedAt: string;
  durationMs: number;
  outcome: string;
}

/** Seconds one long poll of `--follow` waits for a new record before asking again. */
const FOLLOW_WAIT_S = 25;

/**
 * `ol logs <fn> [request id] [--follow]`: the output and failures the
 * debug-records plugin kept, read over the admin socket.
 */
export function addLogsCommand(program: Command): void {
  program
    .command('logs <function> [requestId]')
    .description("print a function's recent invocations (stdout, stderr, and why failed ones failed), or one of them")
    .option('-p, --path <dir>', 'worker dir', DEFAULT_DIR)
    .option('-n, --count <n>', 'how many recent invocations to print', '10')
    .option('-f, --follow', 'keep printing new invocations as they finish (Ctrl-C to stop)')
    .action(async (fn: string, requestId: string | undefined, o) => {
      if (requestId) return printRecord(o.path, fn, requestId);
      const count = Math.max(0, Number(o.count) || 0);
      const all = await list(o.path, fn);
      const recent = count ? all.slice(-count) : [];
      for (const r of recent) await printRecord(o.path, fn, r.requestId, r);
      if (o.follow) await follow(o.path, fn, all.at(-1)?.requestId);
    });
}

async function list(dir: string, fn: string, query = ''): Promise<Summary[]> {
  const res = await get(dir, `/debug/${encodeURIComponent(fn)}${query}`);
  return JSON.parse(res.body.toString('utf8')).records as Summary[];
}

/** Long polls: each answer carries the records finished since the last one printed. */
async function follow(dir: string, fn: string, last: string | undefined): Promise<never> {
  process.stderr.write(`following ${fn}: waiting for new invocations (Ctrl-C to stop)\n`);
  for (;;) {
    const after = last ? `&after=${encodeURIComponent(last)}` : '';
    for (const r of await list(dir, fn, `?wait=${FOLLOW_WAIT_S}${after}`)) {
      await printRecord(dir, fn, r.requestId, r);
      last = r.requestId;
    }
  }
}

async function printRecord(dir: string, fn: string, id: string, summary?: Summary): Promise<void> {
  const base = `/debug/${encodeURIComponent(fn)}/${encodeURIComponent(id)}`;
  const s = summary ?? (JSON.parse((await get(dir, base)).body.toString('utf8')) as Summary);
  process.stdout.write(`=== ${s.startedAt} request ${s.requestId}: ${s.outcome} in ${s.durationMs} ms\n`);
  const stdout = (await get(dir, `${base}/stdout`)).body.toString('utf8');
  const stderr = (await get(dir, `${base}/stderr`)).body.toString('utf8');
  if (stdout) process.stdout.write(section('stdout', stdout));
  if (stderr) process.stdout.write(section('stderr', stderr));
  if (s.outcome !== 'ok') process.stdout.write(section('error', (await get(dir, `${base}/error`)).body.toString('utf8')));
}

function section(name: string, text: string): string {
  return `--- ${name}\n${text.endsWith('\n') ? text : text + '\n'}`;
}

async function get(dir: string, path: string): Promise<AdminResponse> {
  const res = await adminRequest(dir, 'GET', path);
  if (res.status === 404 && path.startsWith('/debug/') && /nothing at/.test(res.body.toString('utf8'))) {
    throw new Error('this worker keeps no invocation records: add debug-records to plugins: in its config');
  }
  if (res.status >= 400) {
    let message = res.body.toString('utf8');
    try {
      message = JSON.parse(message).error.message;
    } catch {
      // not JSON: print as is
    }
    throw new Error(message);
  }
  return res;
}
