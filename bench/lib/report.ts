import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Machine } from './machine';
import type { Spread } from './stats';
import { describeTarget, type ResultRow, type SuiteResult } from './suite';

export interface SuiteReport extends SuiteResult {
  name: string;
  title: string;
  seconds: number;
  /** Set when the suite failed: its message. */
  error?: string;
}

export interface RunReport {
  machine: Machine;
  mode: 'full' | 'quick';
  seconds: number;
  suites: SuiteReport[];
}

/** Three significant digits, without exponent noise: 0.412, 12.3, 1234. */
export function num(x: number): string {
  if (!Number.isFinite(x) || Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toString();
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3).replace(/0+$/, '').replace(/\.$/, '');
}

/** "median (min–max)"; a single run shows just the value. */
export function fmtSpread(s: Spread, suffix = ''): string {
  if (s.runs.length <= 1 || s.min === s.max) return `${num(s.median)}${suffix}`;
  return `${num(s.median)}${suffix} (${num(s.min)}–${num(s.max)})`;
}

const HEAD = ['metric', 'ours', 'baseline', 'ratio', 'target', 'status'];

function cells(r: ResultRow): string[] {
  const unit = r.unit ? ` ${r.unit}` : '';
  const ours = r.value ? fmtSpread(r.value, unit) : 'not measured';
  const baseUnit = r.baseline?.unit === undefined ? unit : r.baseline.unit && ` ${r.baseline.unit}`;
  const base = r.baseline ? `${r.baseline.label}: ${fmtSpread(r.baseline.value, baseUnit)}` : '';
  const ratio = r.ratio ? fmtSpread(r.ratio, 'x') : '';
  const target = r.target ? describeTarget(r.target) : '';
  const status = !r.target ? '' : r.met === undefined ? 'pending' : r.met ? 'met' : 'MISSED';
  return [r.metric, ours, base, ratio, target, status];
}

/** The whole run as aligned plain text, for the terminal. */
export function textReport(run: RunReport): string {
  const out = [`machine: ${run.machine.line}`, `mode: ${run.mode}, ${num(run.seconds)} s`];
  for (const s of run.suites) {
    out.push('', `## ${s.title} [${s.name}, ${num(s.seconds)} s]`);
    if (s.error) out.push(`  FAILED: ${s.error}`);
    const rows = [HEAD, ...s.rows.map(cells)];
    const widths = HEAD.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) out.push('  ' + r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
    for (const r of s.rows) if (r.note) out.push(`  - ${r.metric}: ${r.note}`);
    for (const n of s.notes ?? []) out.push(`  * ${n}`);
  }
  return out.join('\n');
}

/** The same as Markdown, for docs/performance.md. */
export function markdownReport(run: RunReport): string {
  const out = [`Machine: ${run.machine.line}. Mode: ${run.mode}, ${num(run.seconds)} s.`];
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  for (const s of run.suites) {
    out.push('', `### ${s.title}`, '');
    if (s.error) out.push(`**Failed:** ${esc(s.error)}`, '');
    out.push(`| ${HEAD.join(' | ')} |`, `| ${HEAD.map(() => '---').join(' | ')} |`);
    for (const r of s.rows) out.push(`| ${cells(r).map(esc).join(' | ')} |`);
    const notes = [...s.rows.filter((r) => r.note).map((r) => `${r.metric}: ${r.note}`), ...(s.notes ?? [])];
    if (notes.length) out.push('', ...notes.map((n) => `- ${n}`));
  }
  return out.join('\n') + '\n';
}

export function writeReports(run: RunReport, jsonFile: string): string[] {
  fs.mkdirSync(path.dirname(jsonFile), { recursive: true });
  fs.writeFileSync(jsonFile, JSON.stringify(run, null, 2) + '\n');
  const md = jsonFile.replace(/\.json$/, '') + '.md';
  fs.writeFileSync(md, markdownReport(run));
  return [jsonFile, md];
}
