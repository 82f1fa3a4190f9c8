import { Tokens, inject, injectable, type LoadedFunction, type SeccompFilters, type SeccompTier } from '../../core';
import type { SeccompConfig } from './config';
import { profileOf } from './customizer';
import { ProfileStore } from './profile-store';

/** Both tiers of a function's profile, for a zygote pool: the zygote filter for the zygote, the leaf one stacked on each leaf. */
@injectable()
export class TieredFilters implements SeccompFilters {
  constructor(
    @inject(Tokens.PluginConfig) private readonly config: SeccompConfig,
    @inject(ProfileStore) private readonly store: ProfileStore,
  ) {}

  filterFile(fn: LoadedFunction, tier: SeccompTier): string {
    return this.store.filterFile(profileOf(fn, this.config), tier);
  }
}
