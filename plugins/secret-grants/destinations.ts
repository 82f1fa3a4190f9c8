/**
 * One allow-list entry: `scheme://host[:port][/path-prefix]`. The host may
 * start with `*.` (any subdomain, not the domain itself). A URL matches when
 * scheme, host and port are equal and its path starts with the prefix at a
 * segment boundary (`/v1` allows `/v1` and `/v1/x`, not `/v10`).
 */
export class Destination {
  private constructor(
    readonly text: string,
    private readonly protocol: string,
    private readonly host: string,
    private readonly port: string,
    private readonly pathPrefix: string,
  ) {}

  static parse(text: string): Destination {
    const wildcard = /^(https?:\/\/)\*\./.test(text);
    const url = new URL(wildcard ? text.replace('*.', 'wildcard.') : text);
    if (url.search || url.hash || url.username || url.password) throw new Error(`destination ${text}: only scheme://host[:port][/path] is allowed (no query, fragment or credentials)`);
    const host = wildcard ? url.hostname.replace(/^wildcard\./, '*.') : url.hostname;
    return new Destination(text, url.protocol, host, url.port, url.pathname.replace(/\/+$/, ''));
  }

  allows(url: URL): boolean {
    if (url.protocol !== this.protocol || url.port !== this.port) return false;
    const hostOk = this.host.startsWith('*.') ? url.hostname.endsWith(this.host.slice(1)) : url.hostname === this.host;
    if (!hostOk) return false;
    const p = url.pathname;
    return this.pathPrefix === '' || p === this.pathPrefix || p.startsWith(this.pathPrefix + '/');
  }
}
