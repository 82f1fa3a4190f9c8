import { CGROUP_KEYS, KnobValueError, formatSize, knobSpec, parseCpuList, parseKnob, parseSize, type KnobSpec } from '../util/cgroup-keys';

/**
 * The operator's rule for one cgroup key (`cgroup:` in the worker config):
 * whether a function's ol.yaml and/or a single request may set it, and the
 * range a value must fall in. A key the operator does not list may be set by
 * nobody.
 */
export interface CgroupKeyPolicy {
  function?: boolean;
  invocation?: boolean;
  /** In the key's unit: bytes (suffixes allowed) for memory keys, CPUs for cpu.max, the number itself otherwise. */
  min?: number | string;
  max?: number | string;
  /** cpuset keys: the CPUs or nodes a value may name, e.g. "0-3". */
  allowed?: string;
}

export type CgroupPolicy = Record<string, CgroupKeyPolicy>;

/** Who asks for a value: a function's ol.yaml or one request. */
export type KnobSource = 'function' | 'invocation';

/** A driver's answer to "can this host apply key?": undefined for yes, else why not. */
export type KnobSupport = (key: string, value: string) => string | undefined;

export const cgroupPolicySchema = {
  type: 'object',
  default: {},
  additionalProperties: {
    type: 'object',
    additionalProperties: false,
    properties: {
      function: { type: 'boolean', default: false },
      invocation: { type: 'boolean', default: false },
      min: { type: ['number', 'string'] },
      max: { type: ['number', 'string'] },
      allowed: { type: 'string' },
    },
  },
};

function bound(spec: KnobSpec, v: number | string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  return spec.kind === 'bytes' || spec.kind === 'io-max' ? parseSize(v) : v === 'max' ? Infinity : Number(v);
}

function show(spec: KnobSpec, n: number): string {
  if (n === -Infinity) return '-∞';
  return spec.kind === 'bytes' || spec.kind === 'io-max' ? formatSize(n) : n === Infinity ? 'max' : String(n);
}

/** "min..max unit" of a key under a policy, for error messages and `GET /cgroup-keys`. */
export function describeRange(key: string, rule: CgroupKeyPolicy): string {
  const spec = knobSpec(key)!;
  if (spec.kind === 'cpuset') return rule.allowed ? `a subset of ${rule.allowed}` : 'any CPUs or nodes the host has';
  const lo = bound(spec, rule.min, spec.min ?? 0);
  const hi = bound(spec, rule.max, spec.max ?? Infinity);
  return `${show(spec, lo)}..${show(spec, hi)} (${spec.unit})`;
}

/** Problems of the policy itself (unknown keys, unreadable bounds), checked when the worker starts. */
export function checkPolicy(policy: CgroupPolicy): string[] {
  const problems: string[] = [];
  for (const [key, rule] of Object.entries(policy)) {
    const spec = knobSpec(key);
    if (!spec) {
      problems.push(`cgroup.${key}: not a cgroup key OL Kernel knows; known: ${knownKeys()}`);
      continue;
    }
    try {
      bound(spec, rule.min, 0);
      bound(spec, rule.max, 0);
      if (rule.allowed !== undefined) parseCpuList(rule.allowed);
    } catch (e) {
      problems.push(`cgroup.${key}: ${(e as Error).message}`);
    }
  }
  return problems;
}

export function knownKeys(): string {
  return [...Object.keys(CGROUP_KEYS), 'hugetlb.<size>.max'].join(', ');
}

/**
 * Checks what a function or a request asks for against the operator's policy
 * and the host's driver. Returns the canonical v2 values to write, and every
 * problem found, each naming the key and what is allowed.
 */
export function checkKnobs(asked: Record<string, unknown>, policy: CgroupPolicy, who: KnobSource, support?: KnobSupport): { knobs: Record<string, string>; problems: string[] } {
  const knobs: Record<string, string> = {};
  const problems: string[] = [];
  for (const [key, raw] of Object.entries(asked)) {
    const problem = checkOne(key, raw, policy, who, support, knobs);
    if (problem) problems.push(`cgroup ${key}: ${problem}`);
  }
  return { knobs, problems };
}

function checkOne(key: string, raw: unknown, policy: CgroupPolicy, who: KnobSource, support: KnobSupport | undefined, out: Record<string, string>): string | undefined {
  const spec = knobSpec(key);
  if (!spec) return `not a cgroup v2 interface file OL Kernel can set; use one of ${knownKeys()}`;
  const rule = Object.hasOwn(policy, key) ? policy[key] : undefined;
  if (!rule?.[who]) {
    const allowed = Object.keys(policy).filter((k) => policy[k][who]);
    return `the operator does not let ${who === 'function' ? "a function's ol.yaml" : 'a request'} set it (allowed: ${allowed.join(', ') || 'none'})`;
  }
  if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') return 'the value must be a string or a number';
  let parsed;
  try {
    parsed = parseKnob(spec, raw);
  } catch (e) {
    if (e instanceof KnobValueError) return e.message;
    throw e;
  }
  const lo = bound(spec, rule.min, spec.min ?? -Infinity);
  const hi = bound(spec, rule.max, spec.max ?? Infinity);
  const outside = parsed.numbers.find((n) => n < lo || n > hi);
  if (outside !== undefined) return `${raw} is outside the allowed range ${describeRange(key, rule)}`;
  if (parsed.members && rule.allowed !== undefined) {
    const allowed = new Set(parseCpuList(rule.allowed));
    if (parsed.members.some((m) => !allowed.has(m))) return `${raw} is outside the allowed range ${describeRange(key, rule)}`;
  }
  const unsupported = support?.(key, parsed.value);
  if (unsupported) return unsupported;
  out[key] = parsed.value;
  return undefined;
}
