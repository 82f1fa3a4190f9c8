/**
 * The cgroup v2 interface files a function or an invocation may set
 * (`cgroup:` in ol.yaml, `X-OL-Cgroup` on a request), by their kernel names
 * and in the kernel's syntax, and how to read one value into a canonical
 * string to write plus the numbers an operator's range is checked against.
 * Drivers translate the canonical v2 value to their own files (v1: see
 * plugins/cgroup-v1/knob-map.ts).
 */

/** How a key's value is written. */
export type KnobKind = 'bytes' | 'count' | 'int' | 'cpu-max' | 'cpuset' | 'io-max' | 'io-weight';

export interface KnobSpec {
  /** The v2 controller that owns the file (it must be enabled for sandboxes). */
  controller: 'memory' | 'cpu' | 'cpuset' | 'pids' | 'io' | 'hugetlb';
  kind: KnobKind;
  /** What the kernel itself accepts (before any operator range). */
  min?: number;
  max?: number;
  /** What the range of an operator's policy is measured in, for messages and docs. */
  unit: string;
}

/** Every settable key, by v2 name. `hugetlb.<size>.max` is matched by pattern. */
export const CGROUP_KEYS: Record<string, KnobSpec> = {
  'memory.max': { controller: 'memory', kind: 'bytes', unit: 'bytes' },
  'memory.high': { controller: 'memory', kind: 'bytes', unit: 'bytes' },
  'memory.low': { controller: 'memory', kind: 'bytes', unit: 'bytes' },
  'memory.min': { controller: 'memory', kind: 'bytes', unit: 'bytes' },
  'memory.swap.max': { controller: 'memory', kind: 'bytes', unit: 'bytes' },
  'memory.swap.high': { controller: 'memory', kind: 'bytes', unit: 'bytes' },
  'memory.zswap.max': { controller: 'memory', kind: 'bytes', unit: 'bytes' },
  'memory.oom.group': { controller: 'memory', kind: 'int', min: 0, max: 1, unit: '0 or 1' },
  'cpu.max': { controller: 'cpu', kind: 'cpu-max', unit: 'CPUs (quota / period)' },
  'cpu.max.burst': { controller: 'cpu', kind: 'int', min: 0, unit: 'microseconds' },
  'cpu.weight': { controller: 'cpu', kind: 'int', min: 1, max: 10000, unit: 'weight' },
  'cpu.weight.nice': { controller: 'cpu', kind: 'int', min: -20, max: 19, unit: 'nice value' },
  'cpu.idle': { controller: 'cpu', kind: 'int', min: 0, max: 1, unit: '0 or 1' },
  'cpuset.cpus': { controller: 'cpuset', kind: 'cpuset', unit: 'CPU list' },
  'cpuset.mems': { controller: 'cpuset', kind: 'cpuset', unit: 'NUMA node list' },
  'pids.max': { controller: 'pids', kind: 'count', min: 1, unit: 'processes' },
  'io.max': { controller: 'io', kind: 'io-max', unit: 'bytes/s or IOs/s per limit' },
  'io.weight': { controller: 'io', kind: 'io-weight', min: 1, max: 10000, unit: 'weight' },
};

const HUGETLB = /^hugetlb\.(\d+(?:KB|MB|GB))\.(max|rsvd\.max)$/;

export function knobSpec(key: string): KnobSpec | undefined {
  if (Object.hasOwn(CGROUP_KEYS, key)) return CGROUP_KEYS[key];
  if (HUGETLB.test(key)) return { controller: 'hugetlb', kind: 'bytes', unit: 'bytes' };
  return undefined;
}

/** A value read into what is written to the kernel and what a range is checked against. */
export interface ParsedKnob {
  /** The v2 file content to write. */
  value: string;
  /** Every magnitude the value sets (Infinity for "max"), each checked against the range. */
  numbers: number[];
  /** cpuset keys: the CPUs or nodes it names. */
  members?: number[];
}

export class KnobValueError extends Error {}

const SIZE = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B?)?$/i;
const SIZE_FACTOR: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "64M", "1G", "1048576", "max" -> bytes (binary suffixes, as the kernel's memparse). */
export function parseSize(text: string | number): number {
  const s = String(text).trim();
  if (s === 'max') return Infinity;
  const m = SIZE.exec(s);
  if (!m) throw new KnobValueError(`"${s}" is not a size (bytes, or a number with K, M, G or T, or "max")`);
  return Math.round(Number(m[1]) * SIZE_FACTOR[m[2].toUpperCase()]);
}

/** Bytes with the largest binary suffix that divides them, for messages. */
export function formatSize(bytes: number): string {
  if (bytes === Infinity) return 'max';
  for (const [suffix, f] of [['T', 1024 ** 4], ['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${suffix}`;
  }
  return String(bytes);
}

function parseInteger(text: string, allowMax: boolean): number {
  if (allowMax && text === 'max') return Infinity;
  if (!/^-?\d+$/.test(text)) throw new KnobValueError(`"${text}" is not an integer${allowMax ? ' or "max"' : ''}`);
  return Number(text);
}

/** "0-3,5" -> [0,1,2,3,5]. */
export function parseCpuList(text: string): number[] {
  if (text === '') return [];
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new KnobValueError(`"${text}" is not a list like 0-3,5`);
    const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (b < a || b - a > 4096) throw new KnobValueError(`"${part}" is not an ascending range`);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

const IO_MAX_KEYS = ['rbps', 'wbps', 'riops', 'wiops'];

/** "8:0 rbps=1M wbps=max" (several devices separated by ';'). */
function parseIoMax(text: string): ParsedKnob {
  const lines: string[] = [];
  const numbers: number[] = [];
  for (const dev of text.split(';').map((d) => d.trim()).filter(Boolean)) {
    const [majmin, ...pairs] = dev.split(/\s+/);
    if (!/^\d+:\d+$/.test(majmin) || !pairs.length) throw new KnobValueError(`"${dev}" is not "MAJOR:MINOR rbps=N wbps=N riops=N wiops=N"`);
    const parts = [majmin];
    for (const p of pairs) {
      const [k, v] = p.split('=');
      if (!IO_MAX_KEYS.includes(k) || v === undefined) throw new KnobValueError(`"${p}" is not one of ${IO_MAX_KEYS.map((x) => x + '=N').join(', ')}`);
      const n = k.endsWith('bps') ? parseSize(v) : parseInteger(v, true);
      numbers.push(n);
      parts.push(`${k}=${n === Infinity ? 'max' : n}`);
    }
    lines.push(parts.join(' '));
  }
  if (!lines.length) throw new KnobValueError('io.max needs at least one device');
  return { value: lines.join('\n'), numbers };
}

/** "quota period" / "max period" / "quota"; the range is in CPUs (quota / period). */
function parseCpuMax(text: string): ParsedKnob {
  const [q, p = '100000', extra] = text.split(/\s+/);
  if (extra !== undefined) throw new KnobValueError(`"${text}" is not "QUOTA PERIOD" (microseconds, QUOTA may be "max")`);
  const quota = parseInteger(q, true);
  const period = parseInteger(p, false);
  if (period < 1000 || period > 1_000_000) throw new KnobValueError(`period ${period} is outside the kernel's 1000..1000000 µs`);
  if (quota < 1000) throw new KnobValueError(`quota ${quota} is below the kernel's minimum of 1000 µs`);
  return { value: `${quota === Infinity ? 'max' : quota} ${period}`, numbers: [quota / period] };
}

function parseIoWeight(text: string): ParsedKnob {
  const m = /^(?:(default|\d+:\d+)\s+)?(\d+)$/.exec(text);
  if (!m) throw new KnobValueError(`"${text}" is not "N", "default N" or "MAJOR:MINOR N"`);
  return { value: m[1] ? `${m[1]} ${m[2]}` : m[2], numbers: [Number(m[2])] };
}

/** Reads a value as written in ol.yaml or a request; throws KnobValueError saying what the syntax is. */
export function parseKnob(spec: KnobSpec, raw: string | number | boolean): ParsedKnob {
  const text = String(typeof raw === 'boolean' ? Number(raw) : raw).trim();
  let parsed: ParsedKnob;
  switch (spec.kind) {
    case 'bytes': {
      const n = parseSize(text);
      parsed = { value: n === Infinity ? 'max' : String(n), numbers: [n] };
      break;
    }
    case 'count':
    case 'int': {
      const n = parseInteger(text, spec.kind === 'count');
      parsed = { value: n === Infinity ? 'max' : String(n), numbers: [n] };
      break;
    }
    case 'cpu-max':
      parsed = parseCpuMax(text);
      break;
    case 'cpuset': {
      const members = parseCpuList(text);
      parsed = { value: text, numbers: [], members };
      break;
    }
    case 'io-max':
      parsed = parseIoMax(text);
      break;
    case 'io-weight':
      parsed = parseIoWeight(text);
      break;
  }
  for (const n of parsed.numbers) {
    if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
      throw new KnobValueError(`${n} is outside what the kernel accepts (${spec.min ?? '-∞'}..${spec.max ?? 'max'})`);
    }
  }
  return parsed;
}
