import { runTool } from '../../core';
import { formatCidr, formatIp, overlaps, parseCidr, type Cidr } from './cidr';
import { IP_HINT } from './tools';

/** The /30 of one worker: the host's veth end is the gateway of the namespace's end. */
export interface VethSubnet {
  subnet: Cidr;
  hostAddress: string;
  nsAddress: string;
}

/**
 * A /30 of `pool` that overlaps nothing in `used`, starting at a place given
 * by `seed` (the worker's scope) so that workers on one host spread out.
 */
export function pickSubnet(pool: Cidr, seed: number, used: Cidr[]): VethSubnet {
  if (pool.prefix > 30) throw new Error(`the subnet pool ${formatCidr(pool)} is smaller than the /30 a worker needs; give netns-egress.subnet_pool a /30 or larger`);
  const count = (pool.end - pool.start + 1) / 4;
  for (let i = 0; i < count; i++) {
    const start = pool.start + ((seed + i) % count) * 4;
    const subnet = { start, end: start + 3, prefix: 30 };
    if (!used.some((u) => overlaps(u, subnet))) return { subnet, hostAddress: formatIp(start + 1), nsAddress: formatIp(start + 2) };
  }
  throw new Error(`no free /30 left in ${formatIp(pool.start)}/${pool.prefix}: every part of it is routed on this host already`);
}

/** Every IPv4 prefix the host routes (all tables, its own addresses included), the default route aside. */
export async function routedPrefixes(): Promise<Cidr[]> {
  const routes = JSON.parse((await runTool('ip', ['-j', '-4', 'route', 'show', 'table', 'all'], IP_HINT)) || '[]') as { dst?: string }[];
  return routes.map((r) => r.dst).filter((d): d is string => !!d && d !== 'default' && /^[\d.]+(\/\d+)?$/.test(d)).map(parseCidr);
}
