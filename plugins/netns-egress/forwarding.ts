import * as fs from 'node:fs';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
/**
 * Host-wide, on a tmpfs like the sysctl itself (both vanish at reboot): says
 * that IPv4 forwarding was off before an OL worker turned it on, so the last
 * egress worker to stop turns it off again, even if the one that turned it
 * on was killed.
 */
export const FORWARDING_MARKER = '/run/ol-egress-forwarding-was-off';

/** Turn IPv4 forwarding on (NAT needs it); true when it was off. */
export function enableForwarding(): boolean {
  if (fs.readFileSync(IP_FORWARD, 'utf8').trim() === '1') return false;
  fs.writeFileSync(FORWARDING_MARKER, `${new Date().toISOString()}\n`);
  fs.writeFileSync(IP_FORWARD, '1\n');
  return true;
}

/** Turn forwarding back off if an OL worker turned it on and no egress worker is left; true when it did. */
export function restoreForwarding(otherWorkersLeft: boolean): boolean {
  if (otherWorkersLeft || !fs.existsSync(FORWARDING_MARKER)) return false;
  fs.writeFileSync(IP_FORWARD, '0\n');
  fs.rmSync(FORWARDING_MARKER, { force: true });
  return true;
}
