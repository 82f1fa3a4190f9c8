import { inject, injectable, type SyscallNames } from '../../core';
import { archByAudit } from './arch';
import { ProfileStore } from './profile-store';

/** Names syscall numbers from the tables the filters are compiled with (for "killed by SIGSYS: `mount`"). */
@injectable()
export class SyscallTable implements SyscallNames {
  constructor(@inject(ProfileStore) private readonly store: ProfileStore) {}

  name(nr: number, arch?: string): string | undefined {
    const table = arch ? archByAudit(arch) : this.store.arch;
    return table?.names.get(nr);
  }
}
