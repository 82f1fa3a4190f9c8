import type { Injection } from './config';

/** Why a value cannot be injected the way the role says (never quoting the value). */
export class InjectionError extends Error {}

/**
 * Put the credential on the outgoing request as the role says: a header
 * (with a prefix, e.g. "Bearer "), HTTP basic auth with a fixed user, or a
 * query parameter. A header set by the function under the same name is
 * replaced, so it cannot smuggle its own value next to ours.
 */
export function inject(how: Injection, value: Buffer, headers: Record<string, string | string[]>, url: URL): void {
  const text = value.toString('utf8');
  if ('query' in how) {
    url.searchParams.set(how.query, text);
    return;
  }
  if (/[\r\n\0]/.test(text)) throw new InjectionError('its value contains a line break or NUL byte, which cannot go in an HTTP header; store it without');
  if ('basic_user' in how) {
    setHeader(headers, 'authorization', 'Basic ' + Buffer.from(`${how.basic_user}:${text}`).toString('base64'));
    return;
  }
  setHeader(headers, how.header, (how.prefix ?? '') + text);
}

function setHeader(headers: Record<string, string | string[]>, name: string, value: string): void {
  for (const k of Object.keys(headers)) if (k.toLowerCase() === name.toLowerCase()) delete headers[k];
  headers[name.toLowerCase()] = value;
}
