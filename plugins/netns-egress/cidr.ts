/** An IPv4 range as the numbers of its first and last address. */
export interface Cidr {
  start: number;
  end: number;
  prefix: number;
}

export function parseIp(text: string): number {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`${text} is not an IPv4 address`);
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** `a.b.c.d/n` (or a bare address, /32); the address is masked to the range's start. */
export function parseCidr(text: string): Cidr {
  const [ip, bits = '32'] = text.split('/');
  const prefix = Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`${text}: the prefix length must be 0 to 32`);
  const size = 2 ** (32 - prefix);
  const start = Math.floor(parseIp(ip) / size) * size;
  return { start, end: start + size - 1, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.start)}/${c.prefix}`;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.start <= b.end && b.start <= a.end;
}
