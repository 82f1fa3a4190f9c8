import * as os from 'node:os';
import type { Arch } from './arch';

/**
 * A seccomp profile in the OCI runtime-spec / Docker JSON format, so that
 * operators can reuse profiles they know (Docker's default.json loads as is).
 * Supported: defaultAction, defaultErrnoRet, architectures (checked against
 * the host), syscalls[] with names, action, errnoRet, args and Docker's
 * includes/excludes (arches, caps, minKernel). Sandboxes hold no
 * capabilities, so a rule that `includes` a capability never applies.
 */
export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  syscalls?: SyscallRule[];
}

export interface SyscallRule {
  names?: string[];
  /** Older Docker profiles name one syscall per rule. */
  name?: string;
  action: string;
  errnoRet?: number;
  args?: ArgCondition[];
  includes?: RuleFilter;
  excludes?: RuleFilter;
  comment?: string;
}

export interface ArgCondition {
  index: number;
  value: number;
  valueTwo?: number;
  op: ArgOp;
}

export type ArgOp = 'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_EQ' | 'SCMP_CMP_GE' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';
const ARG_OPS: ArgOp[] = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'];

interface RuleFilter {
  arches?: string[];
  caps?: string[];
  minKernel?: string;
}

/** The filter's return value for each action (linux/seccomp.h); ERRNO and TRACE carry data in the low 16 bits. */
export const ACTIONS: Record<string, number> = {
  SCMP_ACT_KILL: 0x00000000, // kills the thread
  SCMP_ACT_KILL_THREAD: 0x00000000,
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_ERRNO: 0x00050000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_ALLOW: 0x7fff0000,
};
const EPERM = 1;
const MAX_ERRNO = 4095;

/** A profile problem: names the profile and what to change. */
export class ProfileError extends Error {}

/** Parse and check a profile; `source` names it in errors. */
export function parseProfile(text: string, source: string): SeccompProfile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ProfileError(`seccomp profile ${source}: not valid JSON: ${(e as Error).message}`);
  }
  checkProfile(doc, source);
  return doc as SeccompProfile;
}

function checkProfile(doc: unknown, source: string): void {
  const fail = (what: string) => {
    throw new ProfileError(`seccomp profile ${source}: ${what}`);
  };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) fail('the top level must be an object with defaultAction and syscalls');
  const p = doc as Record<string, unknown>;
  checkAction(p.defaultAction, 'defaultAction', fail);
  if (p.syscalls !== undefined && !Array.isArray(p.syscalls)) fail('syscalls must be an array of rules');
  ((p.syscalls as unknown[]) ?? []).forEach((r, i) => checkRule(r, `syscalls[${i}]`, fail));
}

function checkAction(action: unknown, where: string, fail: (what: string) => never): void {
  if (typeof action !== 'string' || !(action in ACTIONS)) {
    fail(`${where}: ${JSON.stringify(action)} is not a supported action; use one of ${Object.keys(ACTIONS).join(', ')} (SCMP_ACT_TRACE and SCMP_ACT_NOTIFY need a supervisor the worker does not run)`);
  }
}

function checkRule(rule: unknown, where: string, fail: (what: string) => never): void {
  if (typeof rule !== 'object' || rule === null) fail(`${where}: must be an object`);
  const r = rule as SyscallRule;
  const names = r.names ?? (r.name ? [r.name] : undefined);
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) fail(`${where}: needs names, a list of syscall names`);
  checkAction(r.action, `${where}.action`, fail);
  if (r.errnoRet !== undefined && !(Number.isInteger(r.errnoRet) && r.errnoRet >= 0 && r.errnoRet <= MAX_ERRNO)) fail(`${where}.errnoRet: must be an errno number 0..${MAX_ERRNO}`);
  (r.args ?? []).forEach((a, j) => {
    if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) fail(`${where}.args[${j}].index: must be 0..5`);
    if (!ARG_OPS.includes(a.op)) fail(`${where}.args[${j}].op: ${JSON.stringify(a.op)} is not one of ${ARG_OPS.join(', ')}`);
    for (const key of ['value', 'valueTwo'] as const) {
      const v = a[key];
      if (v === undefined && key === 'valueTwo') continue;
      // JSON numbers past 2^53 lose precision in JavaScript: refuse rather than compare the wrong value.
      if (!Number.isSafeInteger(v) || v! < 0) fail(`${where}.args[${j}].${key}: must be an integer 0..${Number.MAX_SAFE_INTEGER}`);
    }
  });
}

/** The filter return value of `action` with its errno (defaulting to EPERM, as Docker does). */
export function actionValue(action: string, errnoRet?: number): number {
  const base = ACTIONS[action];
  return action === 'SCMP_ACT_ERRNO' ? (base | (errnoRet ?? EPERM)) >>> 0 : base;
}

/** The syscall names of a rule. */
export function ruleNames(rule: SyscallRule): string[] {
  return rule.names ?? (rule.name ? [rule.name] : []);
}

/** Whether a rule applies on `arch` to a process without capabilities, on this kernel. */
export function ruleApplies(rule: SyscallRule, arch: Arch, kernel = os.release()): boolean {
  const inc = rule.includes ?? {};
  const exc = rule.excludes ?? {};
  if (inc.arches?.length && !inc.arches.some((a) => arch.aliases.includes(a))) return false;
  if (exc.arches?.some((a) => arch.aliases.includes(a))) return false;
  if (inc.caps?.length) return false;
  if (inc.minKernel && compareKernel(kernel, inc.minKernel) < 0) return false;
  if (exc.minKernel && compareKernel(kernel, exc.minKernel) >= 0) return false;
  return true;
}

/** Whether the profile's `architectures` (when it lists any) include `arch`. */
export function profileCovers(profile: SeccompProfile, arch: Arch): boolean {
  const listed = profile.architectures ?? [];
  return listed.length === 0 || listed.some((a) => arch.aliases.includes(a));
}

function compareKernel(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}
