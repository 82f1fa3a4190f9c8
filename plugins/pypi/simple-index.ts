import { fetch } from 'undici';
import type { DistFile } from './dist-file';
import { PackageError } from './package-error';

const ACCEPT = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1';

/**
 * A PEP 503 (HTML) / PEP 691 (JSON) simple repository. Asks for JSON and
 * accepts either answer, so any index (PyPI, devpi, a directory served by a
 * web server) works.
 */
export class SimpleIndex {
  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs: number,
  ) {}

  /** The project's files; [] when the index does not know the project. */
  async files(project: string): Promise<DistFile[]> {
    const url = `${this.baseUrl.replace(/\/+$/, '')}/${project}/`;
    const res = await httpGet(url, this.timeoutMs, ACCEPT);
    if (res.status === 404) return [];
    if (res.status !== 200) {
      throw new PackageError(`the package index answered ${res.status} for ${url}`, 'check pypi.index_url and that the index is healthy', 503);
    }
    const type = res.contentType;
    const text = res.body.toString('utf8');
    return type.includes('json') ? parseJsonPage(text, res.url) : parseHtmlPage(text, res.url);
  }
}

interface HttpAnswer {
  status: number;
  contentType: string;
  url: string;
  body: Buffer;
}

/** GET with a timeout; an unreachable index is a 503 that says which URL and what to change. */
export async function httpGet(url: string, timeoutMs: number, accept = '*/*'): Promise<HttpAnswer> {
  try {
    const res = await fetch(url, { headers: { accept }, signal: AbortSignal.timeout(timeoutMs) });
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', url: res.url || url, body };
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (e as Error).message;
    throw new PackageError(
      `cannot reach the package index at ${url} (${why})`,
      'set pypi.index_url to a PEP 503/691 index this worker can reach, or pypi.wheel_dir to a directory of wheels',
      503,
    );
  }
}

/** PEP 691: {"files": [{"filename", "url", "hashes", "requires-python", "yanked"}]}. */
export function parseJsonPage(text: string, pageUrl: string): DistFile[] {
  const doc = JSON.parse(text) as { files?: Record<string, any>[] };
  return (doc.files ?? []).map((f) => ({
    filename: String(f.filename),
    url: new URL(String(f.url), pageUrl).href,
    sha256: f.hashes?.sha256,
    requiresPython: f['requires-python'] || undefined,
    yanked: f.yanked || undefined,
  }));
}

/** PEP 503: one <a href="url#sha256=..." data-requires-python="..." data-yanked="...">filename</a> per file. */
export function parseHtmlPage(text: string, pageUrl: string): DistFile[] {
  const out: DistFile[] = [];
  for (const m of text.matchAll(/<a\s([^>]*)>([^<]*)<\/a>/gi)) {
    const attrs = parseAttributes(m[1]);
    if (!attrs.href) continue;
    const url = new URL(attrs.href, pageUrl);
    const hash = /(?:^|&)sha256=([0-9a-f]{64})/i.exec(url.hash.slice(1));
    url.hash = '';
    const filename = unescapeHtml(m[2].trim()) || decodeURIComponent(url.pathname.split('/').pop() ?? '');
    out.push({
      filename,
      url: url.href,
      sha256: hash?.[1].toLowerCase(),
      requiresPython: attrs['data-requires-python'] || undefined,
      yanked: 'data-yanked' in attrs ? attrs['data-yanked'] || true : undefined,
    });
  }
  return out;
}

function parseAttributes(s: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of s.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    attrs[m[1].toLowerCase()] = unescapeHtml(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

function unescapeHtml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#0*39;|&apos;/g, "'")
    .replace(/&amp;/g, '&');
}
