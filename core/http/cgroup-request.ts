import type Koa from 'koa';
import { HttpError } from './http-error';

/** Request header with per-invocation cgroup keys: `X-OL-Cgroup: memory.high=64M,cpu.weight=50`. */
export const CGROUP_HEADER = 'x-ol-cgroup';
const QUERY_PREFIX = 'cgroup.';

/**
 * The cgroup keys a request asks for, from the X-OL-Cgroup header and/or
 * `?cgroup.memory.high=64M` query parameters (the query wins on a clash).
 * Only the syntax is checked here; the operator's policy is checked later.
 */
export function requestedKnobs(ctx: Koa.Context): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  const header = ctx.get(CGROUP_HEADER);
  for (const item of header.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new HttpError(400, 'bad-cgroup-keys', `X-OL-Cgroup: "${item}" is not KEY=VALUE`, 'write X-OL-Cgroup: memory.high=64M,cpu.weight=50 (io.max and cpu.max values with spaces go in ?cgroup.KEY= query parameters)');
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  for (const [k, v] of Object.entries(ctx.query)) {
    if (!k.startsWith(QUERY_PREFIX)) continue;
    out[k.slice(QUERY_PREFIX.length)] = String(Array.isArray(v) ? v[v.length - 1] : v);
  }
  return Object.keys(out).length ? out : undefined;
}
