import type { EgressNames } from './names';

/** What the host's table of one worker needs to know. */
export interface HostRules {
  names: EgressNames;
  /** The namespace end's address: the only source allowed from the veth, and the one masqueraded. */
  nsAddress: string;
  /** Always dropped: link-local (cloud metadata 169.254.169.254) and the whole subnet pool (other workers' namespaces). */
  alwaysBlocked: string[];
  blocked: string[];
  allowed: string[];
  /** Nameservers reachable on port 53. */
  dns: string[];
  /** Forwarding was off until an OL worker turned it on: forward nothing but egress traffic. */
  onlyEgressForwarding: boolean;
}

/**
 * The host side of the egress policy, one `inet` table per worker. Packets
 * from the veth are judged in prerouting at raw priority, before any NAT of
 * the host (a Docker port mapping on a host address must not turn into a way
 * in): the host's own addresses (`fib daddr type local`: every interface,
 * the veth's host end, 127.0.0.0/8), broadcast and multicast, link-local and
 * the pool are dropped, then the operator's exceptions and blocked ranges
 * apply. IPv6 is dropped whole. Nothing may open a connection into the
 * namespace, and instances are masqueraded behind the host's address. If
 * IPv4 forwarding was off before an OL worker turned it on, the host still
 * forwards nothing else (any worker's veth is `olh*`).
 */
export function hostRuleset(r: HostRules): string {
  const { hostVeth, table } = r.names;
  const set = (name: string, items: string[]) =>
    items.length ? [`  set ${name} { type ipv4_addr; flags interval; auto-merge; elements = { ${items.join(', ')} } }`] : [];
  return [
    `table inet ${table} {`,
    ...set('always_blocked', r.alwaysBlocked),
    ...set('allowed', r.allowed),
    ...set('blocked', r.blocked),
    ...set('dns', r.dns),
    '  chain prerouting {',
    '    type filter hook prerouting priority raw; policy accept;',
    `    iifname "${hostVeth}" jump from_instances`,
    '  }',
    '  chain from_instances {',
    '    meta nfproto ipv6 drop',
    `    ip saddr != ${r.nsAddress} drop`,
    '    fib daddr type { local, broadcast, multicast, anycast } drop',
    ...(r.alwaysBlocked.length ? ['    ip daddr @always_blocked drop'] : []),
    ...(r.dns.length ? ['    ip daddr @dns meta l4proto { tcp, udp } th dport 53 accept'] : []),
    ...(r.allowed.length ? ['    ip daddr @allowed accept'] : []),
    ...(r.blocked.length ? ['    ip daddr @blocked drop'] : []),
    '  }',
    '  chain input {',
    '    type filter hook input priority filter - 1; policy accept;',
    `    iifname "${hostVeth}" drop`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter - 1; policy accept;',
    `    oifname "${hostVeth}" ct state != { established, related } drop`,
    ...(r.onlyEgressForwarding ? ['    iifname != "olh*" oifname != "olh*" drop'] : []),
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ip saddr ${r.nsAddress} oifname != "${hostVeth}" masquerade`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * Inside the shared namespace: instances of every egress function live in
 * it, so loopback (which carries traffic to the namespace's own addresses
 * too) is closed. One instance cannot connect to a TCP or UDP listener of
 * another; a function that needs a local server uses a Unix socket in its
 * private /tmp instead.
 */
export function namespaceRuleset(): string {
  return [
    'table inet ol_egress {',
    '  chain output {',
    '    type filter hook output priority filter; policy accept;',
    '    oifname "lo" drop',
    '  }',
    '}',
    '',
  ].join('\n');
}
