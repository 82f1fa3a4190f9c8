import type { Command } from 'commander';
import { adminRequest, printResponse } from './admin-client';
import { DEFAULT_DIR } from './worker-commands';

interface UsageRow {
  owner: string;
  function: string;
  invocations: number;
  failures: number;
  wall_seconds: number;
  cpu_user_seconds: number;
  cpu_system_seconds: number;
  gb_seconds: number;
  memory_peak_bytes: number | null;
}

interface BudgetRow {
  budget: string;
  resets_at: string;
  used: Record<string, number>;
  limits: Record<string, number>;
}

/** Columns padded to their widest cell; numbers right-aligned. */
export function formatTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const width = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  return cells.map((r) => r.map((c, i) => (numeric[i] ? c.padStart(width[i]) : c.padEnd(width[i]))).join('  ').trimEnd()).join('\n') + '\n';
}

const fixed = (x: number, d = 3) => Number(x.toFixed(d));
const mib = (b: number | null) => (b === null ? '-' : `${(b / 1024 / 1024).toFixed(1)} MiB`);

/** The GET /usage answer as two readable tables: usage per (owner, function), then the budgets. */
export function renderUsage(body: { usage: UsageRow[]; budgets: BudgetRow[] }): string {
  let out = formatTable(
    ['OWNER', 'FUNCTION', 'INVOCATIONS', 'FAILED', 'WALL s', 'CPU user s', 'CPU sys s', 'GB-s', 'PEAK MEM'],
    body.usage.map((u) => [u.owner, u.function, u.invocations, u.failures, fixed(u.wall_seconds), fixed(u.cpu_user_seconds), fixed(u.cpu_system_seconds), fixed(u.gb_seconds), mib(u.memory_peak_bytes)]),
  );
  if (!body.usage.length) out = 'no usage recorded in this range\n';
  if (body.budgets.length) {
    out += '\n' + formatTable(
      ['BUDGET', 'METRIC', 'USED', 'LIMIT', 'RESETS AT'],
      body.budgets.flatMap((b) => Object.entries(b.limits).map(([m, limit]) => [b.budget, m, fixed(b.used[m] ?? 0), limit, b.resets_at])),
    );
  }
  return out;
}

export function addUsageCommand(program: Command): void {
  program
    .command('usage')
    .description('cumulative usage per owner and function, and budgets (needs the accounting-sqlite plugin)')
    .option('-p, --path <dir>', 'worker dir', DEFAULT_DIR)
    .option('--owner <owner>', 'only this owner')
    .option('--function <name>', 'only this function')
    .option('--from <time>', 'from this time (ISO, or ms since the epoch)')
    .option('--to <time>', 'up to this time (ISO, or ms since the epoch)')
    .option('--json', 'print the raw JSON answer')
    .action(async (o) => {
      const q = new URLSearchParams();
      for (const k of ['owner', 'function', 'from', 'to'] as const) if (o[k]) q.set(k, o[k]);
      const res = await adminRequest(o.path, 'GET', `/usage${q.size ? `?${q}` : ''}`);
      if (res.status === 404) throw new Error('this worker serves no /usage: add accounting-sqlite to plugins: in its config');
      if (res.status >= 400 || o.json) return printResponse(res);
      process.stdout.write(renderUsage(JSON.parse(res.body.toString('utf8'))));
    });
}
