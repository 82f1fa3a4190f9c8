import { Tokens, inject, injectable, type FunctionValidator, type LoadedFunction } from '../../core';
import type { SeccompConfig } from './config';
import { profileOf } from './customizer';
import { ProfileStore } from './profile-store';

/** Rejects, at install and load, a function whose ol.yaml asks for a profile the operator does not allow. */
@injectable()
export class SeccompValidator implements FunctionValidator {
  constructor(
    @inject(Tokens.PluginConfig) private readonly config: SeccompConfig,
    @inject(ProfileStore) private readonly store: ProfileStore,
  ) {}

  check(fn: LoadedFunction): string[] {
    const name = profileOf(fn, this.config);
    if (this.store.allowed.includes(name)) return [];
    return [`ol.yaml seccomp: profile "${name}" is not allowed on this worker (allowed: ${this.store.allowed.join(', ')}); remove the key to use "${this.config.profile}", or ask the operator to add it to seccomp.allowed_profiles`];
  }
}
