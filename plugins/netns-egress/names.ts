/**
 * The host objects of one worker's egress namespace. Every name derives from
 * the worker dir's scope (a hash of its path), so two workers on one host
 * never collide and a worker finds what an earlier, killed run of itself
 * left behind. Interface names stay within the kernel's 15 characters.
 */
export interface EgressNames {
  /** `ip netns` name; the file the launcher joins is `/run/netns/<netns>`. */
  netns: string;
  netnsPath: string;
  /** The veth end on the host, and the one inside the namespace. */
  hostVeth: string;
  nsVeth: string;
  /** The host's nftables table (family inet) of this worker. */
  table: string;
}

export function egressNames(scope: string): EgressNames {
  const id = scope.replace(/^ol-/, '');
  const netns = `ol-egress-${id}`;
  return { netns, netnsPath: `/run/netns/${netns}`, hostVeth: `olh${id}`, nsVeth: `oln${id}`, table: `ol_egress_${id}` };
}
