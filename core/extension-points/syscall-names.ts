import { defineExtensionPoint } from '../plugin/extension-point';

/**
 * Names system calls by number, so that "killed by SIGSYS" becomes "the
 * function called `mount`, a blocked system call". The seccomp plugin, which
 * owns the filters and their syscall table, provides it. Combination:
 * `chain`: the first provider that knows a number answers; without any, the
 * diagnosis says `syscall N` and the architecture.
 */
export interface SyscallNames {
  /** `arch` is the audit architecture as the kernel logs it (e.g. `c000003e` for x86_64). */
  name(nr: number, arch?: string): string | undefined;
}

export const SyscallNamesPoint = defineExtensionPoint<SyscallNames>({
  id: 'SyscallNames',
  combine: 'chain',
  optional: true,
  compose: (tables) => ({
    name(nr, arch) {
      for (const t of tables) {
        const found = t.name(nr, arch);
        if (found) return found;
      }
      return undefined;
    },
  }),
});
