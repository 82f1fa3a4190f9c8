import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokens, inject, injectable, runTool, type Logger, type WorkerPaths } from '../../core';
import { formatCidr, parseCidr } from './cidr';
import type { NetnsEgressConfig } from './config';
import { FORWARDING_MARKER, enableForwarding, restoreForwarding } from './forwarding';
import { egressNames, type EgressNames } from './names';
import { hostRuleset, namespaceRuleset } from './ruleset';
import { pickSubnet, routedPrefixes, type VethSubnet } from './subnet';
import { IP_HINT, NFT_HINT } from './tools';

/** Cloud metadata services (169.254.169.254) live in link-local space. */
const LINK_LOCAL = '169.254.0.0/16';

/**
 * The one network namespace that every instance of an egress function joins
 * (creating one per sandbox would add a veth, addresses and rules to every
 * start). Made at worker start: `ip netns` NAME, a veth pair to the host, a
 * /30 from the pool, a default route via the host end, masquerade, and the
 * filtering of hostRuleset/namespaceRuleset. Removed at stop; what a killed
 * worker left (same names: they derive from the worker dir) is removed
 * first at the next start.
 */
@injectable()
export class EgressNamespace {
  readonly names: EgressNames;
  private readonly dir: string;
  subnet?: VethSubnet;

  constructor(
    @inject(Tokens.PluginConfig) private readonly config: NetnsEgressConfig,
    @inject(Tokens.WorkerPaths) paths: WorkerPaths,
    @inject(Tokens.Logger) private readonly log: Logger,
  ) {
    this.names = egressNames(paths.scope);
    this.dir = path.join(paths.root, 'netns-egress');
  }

  /** The namespace file sandboxes join. */
  get file(): string {
    return this.names.netnsPath;
  }

  async start(): Promise<void> {
    const leftovers = await this.remove();
    if (leftovers.length) this.log.warn({ removed: leftovers }, 'removed the egress namespace objects an earlier run of this worker left');
    try {
      await this.create();
    } catch (e) {
      await this.remove().catch(() => undefined);
      restoreForwarding(this.otherWorkersOnHost());
      throw e;
    }
  }

  /** When egress is not allowed: still remove what an earlier run (which allowed it) left. */
  async removeLeftovers(): Promise<void> {
    if (!fs.existsSync(this.names.netnsPath) && !fs.existsSync(`/sys/class/net/${this.names.hostVeth}`)) return;
    this.log.warn({ removed: await this.remove() }, 'removed the egress namespace objects an earlier run of this worker left');
  }

  async stop(): Promise<void> {
    await this.remove();
    if (restoreForwarding(this.otherWorkersOnHost())) this.log.info('IPv4 forwarding turned off again (an OL worker had turned it on; none is left)');
  }

  private async create(): Promise<void> {
    const { netns, hostVeth, nsVeth } = this.names;
    const pool = parseCidr(this.config.subnet_pool);
    this.subnet = pickSubnet(pool, parseInt(hostVeth.slice(3), 16), await routedPrefixes());
    const { hostAddress, nsAddress } = this.subnet;
    const ip = (...args: string[]) => runTool('ip', args, IP_HINT);
    await ip('netns', 'add', netns);
    await ip('link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', nsVeth, 'netns', netns);
    disableIpv6(hostVeth);
    await ip('addr', 'add', `${hostAddress}/30`, 'dev', hostVeth);
    await ip('link', 'set', hostVeth, 'up');
    await ip('-n', netns, 'link', 'set', nsVeth, 'addrgenmode', 'none');
    await ip('-n', netns, 'addr', 'add', `${nsAddress}/30`, 'dev', nsVeth);
    await ip('-n', netns, 'link', 'set', nsVeth, 'up');
    await ip('-n', netns, 'link', 'set', 'lo', 'up');
    await ip('-n', netns, 'route', 'add', 'default', 'via', hostAddress);
    if (enableForwarding()) this.log.warn('IPv4 forwarding was off; turned it on for egress NAT (net.ipv4.ip_forward=1, limited to egress traffic by the worker\'s nftables table; turned off again when the last egress worker stops)');
    const dns = this.nameservers();
    await this.loadRules(formatCidr(pool), dns);
    this.log.info({ netns, hostVeth, subnet: formatCidr(this.subnet.subnet), dns }, 'egress network namespace ready');
  }

  /** Writes both rulesets under the worker dir (for the operator to read) and loads them. */
  private async loadRules(pool: string, dns: string[]): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    const hostFile = path.join(this.dir, 'host.nft');
    const nsFile = path.join(this.dir, 'namespace.nft');
    fs.writeFileSync(hostFile, hostRuleset({
      names: this.names,
      nsAddress: this.subnet!.nsAddress,
      alwaysBlocked: [LINK_LOCAL, pool],
      blocked: this.config.blocked.map((c) => formatCidr(parseCidr(c))),
      allowed: this.config.allowed_destinations.map((c) => formatCidr(parseCidr(c))),
      dns,
      onlyEgressForwarding: fs.existsSync(FORWARDING_MARKER),
    }));
    fs.writeFileSync(nsFile, namespaceRuleset());
    await runTool('nft', ['-f', hostFile], NFT_HINT);
    await runTool('ip', ['netns', 'exec', this.names.netns, 'nft', '-f', nsFile], NFT_HINT);
  }

  /** IPv4 nameservers of /etc/resolv.conf (the file sandboxes see), when `dns` is on. Loopback ones cannot work: the host is out of reach. */
  private nameservers(): string[] {
    if (!this.config.dns) return [];
    let text = '';
    try {
      text = fs.readFileSync('/etc/resolv.conf', 'utf8');
    } catch {
      return [];
    }
    const all = [...text.matchAll(/^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/gm)].map((m) => m[1]);
    const local = all.filter((a) => a.startsWith('127.'));
    if (local.length) this.log.warn({ nameservers: local }, 'nameservers on the host itself are out of reach of egress instances (the host is blocked); name resolution works only with a nameserver elsewhere in /etc/resolv.conf');
    return all.filter((a) => !a.startsWith('127.'));
  }

  /** Removes this worker's table, veth and namespace if present; names what it removed. */
  private async remove(): Promise<string[]> {
    const { netns, hostVeth, table } = this.names;
    const removed: string[] = [];
    const tables = await runTool('nft', ['list', 'tables'], NFT_HINT);
    if (tables.split('\n').some((l) => l.trim() === `table inet ${table}`)) {
      await runTool('nft', ['delete', 'table', 'inet', table], NFT_HINT);
      removed.push(`nft table inet ${table}`);
    }
    if (fs.existsSync(`/sys/class/net/${hostVeth}`)) {
      await runTool('ip', ['link', 'del', hostVeth], IP_HINT); // takes its peer along
      removed.push(`veth ${hostVeth}`);
    }
    if (fs.existsSync(this.names.netnsPath)) {
      await runTool('ip', ['netns', 'del', netns], IP_HINT);
      removed.push(`netns ${netns}`);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    return removed;
  }

  /** Whether another worker's egress veth exists on this host (it still needs forwarding). */
  private otherWorkersOnHost(): boolean {
    return fs.readdirSync('/sys/class/net').some((n) => n.startsWith('olh') && n !== this.names.hostVeth);
  }
}

/** The host end carries IPv4 only: no link-local IPv6 address an instance could aim at. */
function disableIpv6(iface: string): void {
  const file = `/proc/sys/net/ipv6/conf/${iface}/disable_ipv6`;
  if (fs.existsSync(file)) fs.writeFileSync(file, '1\n');
}
