import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { buildSdist } from './sdist-writer';
import { buildWheel, type BuiltWheel, type WheelSpec } from './wheel-builder';

export interface Published extends BuiltWheel {
  project: string;
  yanked?: string;
  requiresPython?: string;
}

/**
 * A PEP 503 / PEP 691 simple index on loopback, serving wheels and sdists
 * the tests build. It serves no setuptools or wheel: sdists that need them
 * are built with the sandbox interpreter's own (Debian's python3-setuptools
 * and python3-wheel); other build requirements are published here as wheels. `/simple/` answers JSON or HTML by the Accept header (as PyPI does);
 * `/html/simple/` always answers HTML, so both forms are exercised.
 */
export class IndexServer {
  readonly files = new Map<string, Published>();
  /** Requests per path, to check that work is done once. */
  readonly hits = new Map<string, number>();
  private server?: http.Server;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/simple`;
  }

  get htmlUrl(): string {
    return `http://127.0.0.1:${this.port}/html/simple`;
  }

  publish(spec: WheelSpec & { yanked?: string }): Published {
    const w = buildWheel(spec);
    const p: Published = { ...w, project: norm(spec.name), yanked: spec.yanked, requiresPython: spec.requiresPython };
    this.files.set(w.filename, p);
    return p;
  }

  /** An sdist `<name>-<version>.tar.gz` holding `files` (see buildSdist), or raw bytes. */
  publishSdist(name: string, version: string, files: Record<string, string> | Buffer): Published {
    const filename = `${name}-${version}.tar.gz`;
    const data = Buffer.isBuffer(files) ? files : buildSdist(name, version, files);
    const p: Published = { project: norm(name), filename, data, sha256: createHash('sha256').update(data).digest('hex') };
    this.files.set(filename, p);
    return p;
  }

  /** Serve other bytes under an existing filename (the index lists the new hash). */
  replace(filename: string, spec: WheelSpec): void {
    const old = this.files.get(filename)!;
    const w = buildWheel(spec);
    this.files.set(filename, { ...old, data: w.data, sha256: w.sha256 });
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.hits.set(url.pathname, (this.hits.get(url.pathname) ?? 0) + 1);
    const page = /^\/(html\/)?simple\/([^/]+)\/$/.exec(url.pathname);
    if (page) return this.project(page[2], !page[1] && String(req.headers.accept).includes('application/vnd.pypi.simple.v1+json'), res);
    const file = /^\/files\/([^/]+)$/.exec(url.pathname);
    const f = file && this.files.get(decodeURIComponent(file[1]));
    if (f) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return void res.end(f.data);
    }
    res.writeHead(404).end('not found');
  }

  private project(name: string, json: boolean, res: http.ServerResponse): void {
    const files = [...this.files.values()].filter((f) => f.project === name);
    if (!files.length) return void res.writeHead(404).end('no such project');
    if (json) {
      const body = {
        meta: { 'api-version': '1.0' },
        name,
        files: files.map((f) => ({ filename: f.filename, url: `../../files/${f.filename}`, hashes: { sha256: f.sha256 }, 'requires-python': f.requiresPython, yanked: f.yanked ?? false })),
      };
      res.writeHead(200, { 'content-type': 'application/vnd.pypi.simple.v1+json' });
      return void res.end(JSON.stringify(body));
    }
    const links = files.map((f) => {
      const attrs = [f.requiresPython ? ` data-requires-python="${esc(f.requiresPython)}"` : '', f.yanked ? ` data-yanked="${esc(f.yanked)}"` : ''].join('');
      return `<a href="/files/${f.filename}#sha256=${f.sha256}"${attrs}>${f.filename}</a><br/>`;
    });
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!DOCTYPE html><html><body><h1>Links for ${name}</h1>\n${links.join('\n')}\n</body></html>`);
  }
}

function norm(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
