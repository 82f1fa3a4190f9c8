/**
 * A tiny classic-BPF assembler for seccomp filters: instructions name their
 * jump targets by label, and `assemble` lays them out. Classic BPF jumps only
 * forward, and a conditional jump reaches at most 255 instructions ahead, so a
 * conditional jump whose target is farther is rewritten as a short jump over
 * two unconditional `ja` (32-bit offsets), until the layout is stable.
 */

/** Opcodes (linux/bpf_common.h). */
const LD_W_ABS = 0x20;
const ALU_AND_K = 0x54;
const JMP_JA = 0x05;
const RET_K = 0x06;
const JUMP_OPS = { jeq: 0x15, jgt: 0x25, jge: 0x35, jset: 0x45 } as const;

export type JumpCond = keyof typeof JUMP_OPS;
export type Label = string;

export type Insn =
  | { op: 'ld'; offset: number }
  | { op: 'and'; k: number }
  | { op: 'ret'; k: number }
  | { op: 'ja'; to: Label }
  | { op: 'jmp'; cond: JumpCond; k: number; t: Label; f: Label }
  | { op: 'label'; name: Label };

/** One encoded instruction: struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }. */
interface Encoded {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

const MAX_SHORT = 255;
/** BPF_MAXINSNS: the kernel refuses longer filters. */
export const MAX_INSNS = 4096;

/** Encode `program` as the raw struct sock_filter array the launcher reads (host byte order). */
export function assemble(program: Insn[]): Buffer {
  const long = new Set<number>();
  for (;;) {
    const at = layout(program, long);
    const tooFar = program.findIndex((insn, i) => insn.op === 'jmp' && !long.has(i) && !fitsShort(insn, i, at));
    if (tooFar < 0) return encode(program, long, at);
    // Making one jump long moves everything after it; re-check all of them.
    for (let i = 0; i < program.length; i++) {
      const insn = program[i];
      if (insn.op === 'jmp' && !long.has(i) && !fitsShort(insn, i, at)) long.add(i);
    }
  }
}

/** Position of every instruction and label, with long jumps taking three slots. */
function layout(program: Insn[], long: Set<number>): { pos: number[]; labels: Map<Label, number> } {
  const pos: number[] = [];
  const labels = new Map<Label, number>();
  let pc = 0;
  program.forEach((insn, i) => {
    pos.push(pc);
    if (insn.op === 'label') {
      if (labels.has(insn.name)) throw new Error(`BPF assembler: label ${insn.name} defined twice`);
      labels.set(insn.name, pc);
    } else pc += long.has(i) ? 3 : 1;
  });
  return { pos, labels };
}

function target(labels: Map<Label, number>, name: Label): number {
  const at = labels.get(name);
  if (at === undefined) throw new Error(`BPF assembler: jump to undefined label ${name}`);
  return at;
}

function fitsShort(insn: Extract<Insn, { op: 'jmp' }>, i: number, at: ReturnType<typeof layout>): boolean {
  const next = at.pos[i] + 1;
  const t = target(at.labels, insn.t) - next;
  const f = target(at.labels, insn.f) - next;
  return t >= 0 && t <= MAX_SHORT && f >= 0 && f <= MAX_SHORT;
}

function encode(program: Insn[], long: Set<number>, at: ReturnType<typeof layout>): Buffer {
  const out: Encoded[] = [];
  const offset = (name: Label) => {
    const d = target(at.labels, name) - (out.length + 1);
    if (d < 0) throw new Error(`BPF assembler: backward jump to ${name}`);
    return d;
  };
  program.forEach((insn, i) => {
    switch (insn.op) {
      case 'label':
        return;
      case 'ld':
        out.push({ code: LD_W_ABS, jt: 0, jf: 0, k: insn.offset });
        return;
      case 'and':
        out.push({ code: ALU_AND_K, jt: 0, jf: 0, k: insn.k });
        return;
      case 'ret':
        out.push({ code: RET_K, jt: 0, jf: 0, k: insn.k });
        return;
      case 'ja':
        out.push({ code: JMP_JA, jt: 0, jf: 0, k: offset(insn.to) });
        return;
      case 'jmp':
        if (long.has(i)) {
          // true: fall through to `ja t`; false: skip it to `ja f`.
          out.push({ code: JUMP_OPS[insn.cond], jt: 0, jf: 1, k: insn.k });
          out.push({ code: JMP_JA, jt: 0, jf: 0, k: offset(insn.t) });
          out.push({ code: JMP_JA, jt: 0, jf: 0, k: offset(insn.f) });
        } else {
          const jt = offset(insn.t);
          out.push({ code: JUMP_OPS[insn.cond], jt, jf: offset(insn.f), k: insn.k });
        }
    }
  });
  if (out.length > MAX_INSNS) throw new Error(`the seccomp filter has ${out.length} instructions, more than the kernel's limit of ${MAX_INSNS}; merge rules or drop argument conditions`);
  const buf = Buffer.alloc(out.length * 8);
  out.forEach((e, i) => {
    buf.writeUInt16LE(e.code, i * 8);
    buf.writeUInt8(e.jt, i * 8 + 2);
    buf.writeUInt8(e.jf, i * 8 + 3);
    buf.writeUInt32LE(e.k >>> 0, i * 8 + 4);
  });
  return buf;
}
