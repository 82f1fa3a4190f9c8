import type { Arch } from './arch';
import { assemble, type Insn, type Label } from './bpf';
import { actionValue, profileCovers, ProfileError, ruleApplies, ruleNames, type ArgCondition, type SeccompProfile } from './profile';

/** struct seccomp_data offsets. */
const NR = 0;
const ARCH = 4;
const argLow = (i: number) => 16 + 8 * i; // little endian: x86_64 and aarch64
const argHigh = (i: number) => 20 + 8 * i;
const RET_KILL_PROCESS = 0x80000000;
const TWO_32 = 2 ** 32;
const NR_LIMIT = TWO_32;

/** One rule as it applies to one syscall number: conditions all true -> action. */
interface Clause {
  conditions: ArgCondition[];
  action: number;
}

/** What a range of syscall numbers does: a fixed action, or clauses tried in order. */
type Handler = { kind: 'ret'; action: number } | { kind: 'clauses'; clauses: Clause[] };

interface Interval {
  start: number;
  /** Exclusive. */
  end: number;
  handler: Handler;
}

export interface CompileOptions {
  /** Replaces the profile's defaultAction (the configured blocked-call action). */
  defaultAction?: number;
}

export interface CompiledFilter {
  /** The struct sock_filter array, for the launcher's --seccomp FILE. */
  program: Buffer;
  /** Instructions. */
  length: number;
  /** Syscalls the profile names that this architecture does not have (e.g. chown32 on x86_64). */
  unknown: string[];
}

/**
 * Compile a profile for one architecture to classic BPF, as Firecracker's
 * seccompiler does: check the architecture (anything else is killed, which
 * also shuts the i386 and x32 entry points on x86_64), then a binary search
 * over syscall-number intervals, so a call costs about log2(intervals)
 * comparisons rather than one per listed syscall. Adjacent numbers with the
 * same action share an interval; syscalls with argument conditions get their
 * own, holding the conditions in rule order.
 */
export function compileProfile(profile: SeccompProfile, arch: Arch, options: CompileOptions = {}): CompiledFilter {
  if (!profileCovers(profile, arch)) {
    throw new ProfileError(`the profile lists architectures ${JSON.stringify(profile.architectures)}, which do not include this host's ${arch.name}; add ${arch.aliases[0]}`);
  }
  const defaultAction = options.defaultAction ?? actionValue(profile.defaultAction, profile.defaultErrnoRet);
  const { perNr, unknown } = clausesByNumber(profile, arch);
  const intervals = toIntervals(perNr, defaultAction);
  const program: Insn[] = [
    { op: 'ld', offset: ARCH },
    { op: 'jmp', cond: 'jeq', k: arch.auditArch, t: 'arch_ok', f: 'bad_arch' },
    { op: 'label', name: 'bad_arch' },
    { op: 'ret', k: RET_KILL_PROCESS },
    { op: 'label', name: 'arch_ok' },
    { op: 'ld', offset: NR },
    ...search(intervals, defaultAction, { next: 0 }),
  ];
  const bytes = assemble(program);
  return { program: bytes, length: bytes.length / 8, unknown };
}

function clausesByNumber(profile: SeccompProfile, arch: Arch): { perNr: Map<number, Clause[]>; unknown: string[] } {
  const perNr = new Map<number, Clause[]>();
  const unknown = new Set<string>();
  for (const rule of profile.syscalls ?? []) {
    if (!ruleApplies(rule, arch)) continue;
    const action = actionValue(rule.action, rule.errnoRet ?? (rule.action === 'SCMP_ACT_ERRNO' ? profile.defaultErrnoRet : undefined));
    for (const name of ruleNames(rule)) {
      const nr = arch.syscalls[name];
      if (nr === undefined) {
        unknown.add(name);
        continue;
      }
      const list = perNr.get(nr) ?? [];
      // After an unconditional clause, later ones for the same call can never match.
      if (!list.some((c) => c.conditions.length === 0)) list.push({ conditions: rule.args ?? [], action });
      perNr.set(nr, list);
    }
  }
  return { perNr, unknown: [...unknown].sort() };
}

function handlerOf(clauses: Clause[]): Handler {
  const first = clauses[0];
  return first.conditions.length === 0 ? { kind: 'ret', action: first.action } : { kind: 'clauses', clauses };
}

/** Cover [0, 2^32) with intervals; merge neighbours that return the same fixed action. */
function toIntervals(perNr: Map<number, Clause[]>, defaultAction: number): Interval[] {
  const out: Interval[] = [];
  const push = (start: number, end: number, handler: Handler) => {
    const last = out[out.length - 1];
    if (last && last.handler.kind === 'ret' && handler.kind === 'ret' && last.handler.action === handler.action) last.end = end;
    else out.push({ start, end, handler });
  };
  let at = 0;
  for (const nr of [...perNr.keys()].sort((a, b) => a - b)) {
    if (nr > at) push(at, nr, { kind: 'ret', action: defaultAction });
    push(nr, nr + 1, handlerOf(perNr.get(nr)!));
    at = nr + 1;
  }
  if (at < NR_LIMIT) push(at, NR_LIMIT, { kind: 'ret', action: defaultAction });
  return out;
}

/** Binary search: the accumulator holds the syscall number on entry. */
function search(intervals: Interval[], defaultAction: number, ids: { next: number }): Insn[] {
  if (intervals.length === 1) return handlerCode(intervals[0].handler, defaultAction, ids);
  const mid = Math.floor(intervals.length / 2);
  const right = `r${ids.next++}`;
  const left = `l${ids.next++}`;
  return [
    { op: 'jmp', cond: 'jge', k: intervals[mid].start, t: right, f: left },
    { op: 'label', name: left },
    ...search(intervals.slice(0, mid), defaultAction, ids),
    { op: 'label', name: right },
    ...search(intervals.slice(mid), defaultAction, ids),
  ];
}

function handlerCode(handler: Handler, defaultAction: number, ids: { next: number }): Insn[] {
  if (handler.kind === 'ret') return [{ op: 'ret', k: handler.action }];
  const code: Insn[] = [];
  for (const clause of handler.clauses) {
    const pass = `p${ids.next++}`;
    const fail = `f${ids.next++}`;
    for (const c of clause.conditions) code.push(...condition(c, fail, ids));
    code.push({ op: 'label', name: pass }, { op: 'ret', k: clause.action }, { op: 'label', name: fail });
  }
  code.push({ op: 'ret', k: defaultAction });
  return code;
}

/**
 * One 64-bit argument comparison as two 32-bit ones (high word first); falls
 * through when true, jumps to `fail` when false. Unsigned, like libseccomp.
 */
function condition(c: ArgCondition, fail: Label, ids: { next: number }): Insn[] {
  const hi = Math.floor(c.value / TWO_32);
  const lo = c.value % TWO_32;
  const ok = `c${ids.next++}`;
  const lowWord = `w${ids.next++}`;
  const ldHi: Insn = { op: 'ld', offset: argHigh(c.index) };
  const ldLo: Insn = { op: 'ld', offset: argLow(c.index) };
  const done: Insn = { op: 'label', name: ok };
  const atLow: Insn = { op: 'label', name: lowWord };
  switch (c.op) {
    case 'SCMP_CMP_EQ':
      return [ldHi, { op: 'jmp', cond: 'jeq', k: hi, t: lowWord, f: fail }, atLow, ldLo, { op: 'jmp', cond: 'jeq', k: lo, t: ok, f: fail }, done];
    case 'SCMP_CMP_NE':
      return [ldHi, { op: 'jmp', cond: 'jeq', k: hi, t: lowWord, f: ok }, atLow, ldLo, { op: 'jmp', cond: 'jeq', k: lo, t: fail, f: ok }, done];
    case 'SCMP_CMP_MASKED_EQ': {
      // Docker/OCI: `value` is the mask, `valueTwo` the expected result.
      const want = c.valueTwo ?? 0;
      return [
        ldHi, { op: 'and', k: hi }, { op: 'jmp', cond: 'jeq', k: Math.floor(want / TWO_32), t: lowWord, f: fail },
        atLow, ldLo, { op: 'and', k: lo }, { op: 'jmp', cond: 'jeq', k: want % TWO_32, t: ok, f: fail }, done,
      ];
    }
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE': {
      const eqHi = `e${ids.next++}`;
      return [
        ldHi, { op: 'jmp', cond: 'jgt', k: hi, t: ok, f: eqHi }, { op: 'label', name: eqHi },
        { op: 'jmp', cond: 'jeq', k: hi, t: lowWord, f: fail },
        atLow, ldLo, { op: 'jmp', cond: c.op === 'SCMP_CMP_GT' ? 'jgt' : 'jge', k: lo, t: ok, f: fail }, done,
      ];
    }
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE': {
      const eqHi = `e${ids.next++}`;
      // a < b  <=>  !(a >= b);  a <= b  <=>  !(a > b)
      return [
        ldHi, { op: 'jmp', cond: 'jgt', k: hi, t: fail, f: eqHi }, { op: 'label', name: eqHi },
        { op: 'jmp', cond: 'jeq', k: hi, t: lowWord, f: ok },
        atLow, ldLo, { op: 'jmp', cond: c.op === 'SCMP_CMP_LT' ? 'jge' : 'jgt', k: lo, t: fail, f: ok }, done,
      ];
    }
  }
}
