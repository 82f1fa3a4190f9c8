import { Tokens, inject, injectable, type LoadedFunction, type SandboxAdditions, type SandboxCustomizer } from '../../core';
import type { SeccompConfig } from './config';
import { ProfileStore } from './profile-store';

/** The profile a function runs under: its ol.yaml `seccomp`, else the operator's default. */
export function profileOf(fn: LoadedFunction, config: SeccompConfig): string {
  return fn.config.seccomp ?? config.profile;
}

/**
 * Gives every new sandbox the compiled filter of its function's profile: the
 * zygote tier for a zygote (it must still create namespaces and change root
 * to fork leaves), the leaf tier for everything else. The launcher installs
 * it, with no_new_privs, in the sandbox init and just before exec.
 */
@injectable()
export class SeccompCustomizer implements SandboxCustomizer {
  constructor(
    @inject(Tokens.PluginConfig) private readonly config: SeccompConfig,
    @inject(ProfileStore) private readonly store: ProfileStore,
  ) {}

  async prepare(fn: LoadedFunction): Promise<SandboxAdditions> {
    const tier = fn.role === 'zygote' ? 'zygote' : 'leaf';
    return { seccompFilter: this.store.filterFile(profileOf(fn, this.config), tier) };
  }
}
