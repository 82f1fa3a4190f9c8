import * as fs from 'node:fs';
import * as http from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Agent } from 'undici';
import { SecretProviderPoint, Tokens, inject, injectable, type Logger, type SecretProvider } from '../../core';
import { AuditLog } from './audit-log';
import type { SecretGrantsConfig } from './config';
import { SECRET_HEADER, parseTarget } from './egress-target';
import { InjectionError, inject as injectCredential } from './injection';
import type { LiveSandbox } from './live-sandboxes';
import { Policy } from './policy';
import { redact } from './redact';

/** Headers that belong to one connection, not to the request (RFC 9110 7.6.1), plus our own. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', SECRET_HEADER]);

const MAX_CONNECTIONS_PER_SANDBOX = 64;

/** A refusal the function sees: status, stable code, what happened and what to do. */
class Refusal {
  constructor(readonly status: number, readonly code: string, readonly message: string, readonly hint: string) {}
}

/**
 * The worker's egress proxy. Each sandbox that asked for a secret in proxy
 * mode gets its own Unix socket, bound into it and into no other, so the
 * socket a request arrives on says which function (and request) is calling.
 * The proxy checks the grant and the destination allow-list, injects the
 * credential, forwards with undici and streams the answer back; the value
 * never enters the sandbox.
 */
@injectable()
export class EgressProxy {
  private readonly servers = new Map<string, http.Server>();
  private readonly agent: Agent;

  constructor(
    @inject(Tokens.PluginConfig) config: SecretGrantsConfig,
    @inject(Policy) private readonly policy: Policy,
    @inject(AuditLog) private readonly audit: AuditLog,
    @inject(SecretProviderPoint.token) private readonly secrets: SecretProvider,
    @inject(Tokens.Logger) private readonly log: Logger,
  ) {
    this.agent = new Agent({ headersTimeout: config.upstream_timeout_ms, bodyTimeout: config.upstream_timeout_ms, connect: { timeout: config.upstream_timeout_ms } });
  }

  /** Serve `sb` on a new socket at `socketPath`, connectable by the sandbox's unprivileged user. */
  async listen(sb: LiveSandbox, socketPath: string): Promise<void> {
    const server = http.createServer((req, res) => {
      this.handle(sb, req, res).catch((e) => {
        // Only names and codes reach the log: the message of an unexpected error is not trusted to be value-free.
        this.log.error({ sandbox: sb.id, fn: sb.fn.name, err: (e as NodeJS.ErrnoException).code ?? (e as Error).name }, 'egress proxy failed on a request');
        if (!res.headersSent) refuse(res, new Refusal(500, 'egress-proxy-failed', 'the egress proxy failed on this request', 'retry; tell the operator if it persists'));
        else res.destroy();
      });
    });
    // A sandbox's own processes are its only clients: bound them, so it cannot tie up the worker.
    server.maxConnections = MAX_CONNECTIONS_PER_SANDBOX;
    this.servers.set(sb.id, server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    fs.chmodSync(socketPath, 0o666);
  }

  async close(id: string): Promise<void> {
    const server = this.servers.get(id);
    if (!server) return;
    this.servers.delete(id);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.servers.keys()].map((id) => this.close(id)));
    await this.agent.close();
  }

  private async handle(sb: LiveSandbox, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const target = parseTarget(req);
    const base = { function: sb.fn.name, owner: sb.fn.config.owner, sandbox: sb.id, request_id: sb.requestId, mode: 'proxy' as const, method: req.method };
    if (typeof target === 'string') {
      this.audit.record({ ...base, secret: '', destination: null, decision: 'denied', reason: 'bad-request' });
      return refuse(res, new Refusal(400, 'bad-egress-request', target, 'see docs/secrets.md'));
    }
    const destination = `${target.url.origin}${target.url.pathname}`;
    const deny = (r: Refusal) => {
      this.audit.record({ ...base, secret: target.secret, destination, decision: 'denied', reason: r.code });
      refuse(res, r);
    };
    const allowed = this.policy.allowed(sb.fn, target.secret, 'proxy');
    if (!allowed) {
      return deny(new Refusal(403, 'secret-not-granted', `function "${sb.fn.name}" may not use secret "${target.secret}" through the proxy`, 'list it under secrets: in ol.yaml; the operator\'s role for the function must grant it with mode proxy'));
    }
    if (!allowed.destinations.some((d) => d.allows(target.url))) {
      const where = allowed.destinations.map((d) => d.text).join(', ') || 'none';
      return deny(new Refusal(403, 'destination-not-allowed', `secret "${target.secret}" may not be sent to ${destination}`, `role "${allowed.role}" allows it only for: ${where}; ask the operator to add the destination`));
    }
    let value: Buffer | null = null;
    try {
      value = await this.secrets.get(target.secret);
    } catch (e) {
      this.log.error({ secret: target.secret, err: (e as Error).message }, 'cannot read a secret for the egress proxy');
    }
    if (!value) return deny(new Refusal(503, 'secret-unavailable', `secret "${target.secret}" is not stored in any secret provider`, 'ask the operator to store it (ol secret put)'));
    await this.forward(req, res, target.url, value, allowed.grant.inject, (status, reason) =>
      this.audit.record({ ...base, secret: target.secret, destination, decision: 'allowed', status, reason }),
    );
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse, url: URL, value: Buffer, how: Parameters<typeof injectCredential>[0], done: (status?: number, reason?: string) => void): Promise<void> {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    const out = new URL(url);
    try {
      injectCredential(how, value, headers, out);
    } catch (e) {
      if (!(e instanceof InjectionError)) throw e;
      done(undefined, 'cannot-inject');
      return refuse(res, new Refusal(500, 'cannot-inject', `the credential cannot be sent: ${e.message}`, 'ask the operator to fix the stored secret'));
    }
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    let upstream;
    try {
      upstream = await this.agent.request({ origin: out.origin, path: out.pathname + out.search, method: (req.method ?? 'GET') as any, headers, body: hasBody ? req : undefined });
    } catch (e) {
      const why = redact((e as Error).message, value);
      done(undefined, 'upstream-failed');
      this.log.warn({ destination: url.origin, err: why }, 'egress proxy: upstream request failed');
      return refuse(res, new Refusal(502, 'upstream-failed', `the request to ${url.origin} failed: ${why}`, 'check the destination is up and reachable from the worker'));
    }
    done(upstream.statusCode);
    const back: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(upstream.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) back[k] = v;
    res.writeHead(upstream.statusCode, back);
    await pipeline(upstream.body, res).catch(() => res.destroy());
  }
}

function refuse(res: http.ServerResponse, r: Refusal): void {
  const body = JSON.stringify({ error: { code: r.code, message: r.message, hint: r.hint } });
  res.writeHead(r.status, { 'content-type': 'application/json', 'x-ol-egress-error': r.code, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
