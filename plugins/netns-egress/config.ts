/** What a function's network may be: loopback only, or outbound internet. */
export type NetworkPolicy = 'none' | 'egress';
export const POLICIES: NetworkPolicy[] = ['none', 'egress'];

/** The `netns-egress:` section of the worker config. */
export interface NetnsEgressConfig {
  /** Policies an ol.yaml `network:` may choose. */
  allowed: NetworkPolicy[];
  /** The policy of functions whose ol.yaml has no `network:` key. */
  default: NetworkPolicy;
  /** The range the worker takes its veth address pair (a free /30) from. */
  subnet_pool: string;
  /** Destinations egress instances may not reach (besides the always-blocked ones). */
  blocked: string[];
  /** Exceptions to `blocked` (never to the host's own addresses, link-local or the subnet pool). */
  allowed_destinations: string[];
  /** Keep the nameservers of /etc/resolv.conf reachable on port 53 even when `blocked` covers them. */
  dns: boolean;
}

const IPV4_CIDR = '^(\\d{1,3}\\.){3}\\d{1,3}(/\\d{1,2})?$';

/** Private, shared, link-local, multicast and reserved ranges: an egress instance reaches the public internet only. */
export const DEFAULT_BLOCKED = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16', '224.0.0.0/3'];

export const netnsEgressConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    allowed: { type: 'array', items: { enum: POLICIES }, uniqueItems: true, default: POLICIES, description: 'policies an ol.yaml `network:` may choose' },
    default: { enum: POLICIES, default: 'none', description: 'policy of functions whose ol.yaml names none' },
    subnet_pool: { type: 'string', pattern: IPV4_CIDR, default: '10.231.0.0/16', description: 'range of the veth address pairs (one free /30 per worker)' },
    blocked: { type: 'array', items: { type: 'string', pattern: IPV4_CIDR }, default: DEFAULT_BLOCKED, description: 'destinations egress instances may not reach' },
    allowed_destinations: { type: 'array', items: { type: 'string', pattern: IPV4_CIDR }, default: [], description: 'exceptions to blocked' },
    dns: { type: 'boolean', default: true, description: "the nameservers of /etc/resolv.conf stay reachable on port 53" },
  },
};
