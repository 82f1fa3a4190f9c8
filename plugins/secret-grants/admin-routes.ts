import type Router from '@koa/router';
import type { Context } from 'koa';
import { SecretProviderPoint, Tokens, checkSecretName, inject, injectable, type AdminRoutes, type SecretProvider } from '../../core';
import { AuditLog } from './audit-log';
import type { SecretGrantsConfig } from './config';
import { Rotation } from './rotation';

/**
 * `ol secret put|get|list|rm` on the admin socket. Values go in (PUT) and
 * never come out: `get` says whether a secret exists, its size and which
 * roles grant it, so no admin response can leak one.
 */
@injectable()
export class SecretAdminRoutes implements AdminRoutes {
  constructor(
    @inject(Tokens.PluginConfig) private readonly config: SecretGrantsConfig,
    @inject(SecretProviderPoint.token) private readonly secrets: SecretProvider,
    @inject(Rotation) private readonly rotation: Rotation,
    @inject(AuditLog) private readonly audit: AuditLog,
  ) {}

  mount(router: Router): void {
    router.get('/secrets', async (ctx) => {
      ctx.body = { secrets: await this.secrets.list(), writable: this.secrets.writable };
    });
    router.get('/secrets/:name', async (ctx) => {
      const name = nameOf(ctx);
      const value = await this.secrets.get(name);
      if (!value) throw notFound(name);
      ctx.body = { name, bytes: value.length, granted_by: this.rolesGranting(name) };
    });
    router.put('/secrets/:name', async (ctx) => {
      const name = nameOf(ctx);
      const value = await readLimited(ctx, this.config.max_secret_bytes);
      await this.secrets.put!(name, value);
      // Instances holding the old value are retired before the caller hears back.
      await this.rotation.check();
      ctx.status = 204;
    });
    router.delete('/secrets/:name', async (ctx) => {
      const name = nameOf(ctx);
      if (!(await this.secrets.remove!(name))) throw notFound(name);
      await this.rotation.check();
      ctx.status = 204;
    });
    router.get('/secret-audit', (ctx) => {
      const limit = Math.min(Number(ctx.query.limit ?? 100) || 100, 1000);
      const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
      ctx.body = { file: this.audit.file, records: this.audit.latest({ function: str(ctx.query.function), secret: str(ctx.query.secret), limit }) };
    });
  }

  private rolesGranting(name: string): { role: string; modes: string[] }[] {
    return Object.entries(this.config.roles)
      .filter(([, r]) => r.secrets[name])
      .map(([role, r]) => ({ role, modes: r.secrets[name].modes }));
  }
}

function nameOf(ctx: Context & { params?: Record<string, string> }): string {
  const name = (ctx as any).params.name as string;
  checkSecretName(name);
  return name;
}

function notFound(name: string): Error {
  return Object.assign(new Error(`no secret named "${name}"; \`ol secret list\` shows the stored ones`), { status: 404 });
}

async function readLimited(ctx: Context, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of ctx.req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > limit) throw Object.assign(new Error(`the secret is larger than ${limit} bytes; raise secret-grants.max_secret_bytes if it must be`), { status: 413 });
    chunks.push(c);
  }
  if (!size) throw Object.assign(new Error('the secret value is empty; send it as the request body (ol secret put NAME reads it from stdin)'), { status: 400 });
  return Buffer.concat(chunks);
}
