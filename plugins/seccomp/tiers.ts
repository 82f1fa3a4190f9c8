import type { SeccompTier } from '../../core';
import type { SeccompProfile } from './profile';

/**
 * The two tiers of a profile. A leaf runs function code: it gets the profile
 * as written. A zygote must also build the namespaces and root of the leaves
 * it forks, so its tier adds those calls; each leaf then stacks the leaf
 * filter on top before running function code (filters only ever narrow).
 */
export type Tier = SeccompTier;
export const TIERS: Tier[] = ['leaf', 'zygote'];

/** What a zygote may do beyond a leaf: create namespaces and change root. */
export const ZYGOTE_EXTRA = ['unshare', 'setns', 'mount', 'umount2', 'pivot_root', 'chroot', 'mount_setattr', 'open_tree', 'move_mount', 'sethostname', 'clone'];

/** The profile for `tier`: the leaf tier is the profile itself. */
export function profileForTier(profile: SeccompProfile, tier: Tier): SeccompProfile {
  if (tier === 'leaf') return profile;
  // A rule with no conditions listed first wins over the profile's own (e.g. clone's flag check).
  return { ...profile, syscalls: [{ names: ZYGOTE_EXTRA, action: 'SCMP_ACT_ALLOW' }, ...(profile.syscalls ?? [])] };
}
