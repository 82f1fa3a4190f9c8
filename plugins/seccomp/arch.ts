import { SYSCALLS_AARCH64 } from './syscalls-aarch64';
import { SYSCALLS_X86_64 } from './syscalls-x86_64';

/** An architecture a filter can be compiled for. */
export interface Arch {
  /** Our name, as in the syscall tables. */
  name: 'x86_64' | 'aarch64';
  /** AUDIT_ARCH_* (linux/audit.h): the value of seccomp_data.arch. */
  auditArch: number;
  /** Names the OCI/Docker profile format uses for it (`architectures`, `includes.arches`). */
  aliases: string[];
  syscalls: Readonly<Record<string, number>>;
  /** Number -> name, for naming a blocked call. */
  names: ReadonlyMap<number, string>;
}

function arch(name: Arch['name'], auditArch: number, aliases: string[], syscalls: Readonly<Record<string, number>>): Arch {
  return { name, auditArch, aliases, syscalls, names: new Map(Object.entries(syscalls).map(([n, nr]) => [nr, n])) };
}

export const ARCHES: Record<Arch['name'], Arch> = {
  x86_64: arch('x86_64', 0xc000003e, ['SCMP_ARCH_X86_64', 'amd64', 'x86_64'], SYSCALLS_X86_64),
  aarch64: arch('aarch64', 0xc00000b7, ['SCMP_ARCH_AARCH64', 'arm64', 'aarch64'], SYSCALLS_AARCH64),
};

/** The architecture this worker runs on; sandboxes run the same. */
export function nativeArch(): Arch {
  if (process.arch === 'x64') return ARCHES.x86_64;
  if (process.arch === 'arm64') return ARCHES.aarch64;
  throw new Error(`seccomp filters are compiled for x86_64 and aarch64 only, and this host is ${process.arch}; remove the seccomp plugin from plugins:`);
}

/** The architecture whose audit value (hex, as the kernel logs it, e.g. `c000003e`) is `hex`. */
export function archByAudit(hex: string): Arch | undefined {
  const value = parseInt(hex, 16);
  return Object.values(ARCHES).find((a) => a.auditArch === value);
}
