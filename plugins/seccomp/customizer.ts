import { Tokens, inject, injectable, type LoadedFunction, type SandboxAdditions, type SandboxCustomizer } from '../../core';
import type { SeccompConfig } from './config';
import { ProfileStore } from './profile-store';

/** The profile a function runs under: its ol.yaml `seccomp`, else the operator's default. */
export function profileOf(fn: LoadedFunction, config: SeccompConfig): string {
  return fn.config.seccomp ?? config.profile;
}

/**
 * Gives every new sandbox the compiled leaf filter of its function's profile;
 * the launcher installs it, with no_new_privs, in the sandbox init and just
 * before exec of the function's runtime.
 */
@injectable()
export class SeccompCustomizer implements SandboxCustomizer {
  constructor(
    @inject(Tokens.PluginConfig) private readonly config: SeccompConfig,
    @inject(ProfileStore) private readonly store: ProfileStore,
  ) {}

  async prepare(fn: LoadedFunction): Promise<SandboxAdditions> {
    return { seccompFilter: this.store.filterFile(profileOf(fn, this.config), 'leaf') };
  }
}
