import Koa from 'koa';
import Router from '@koa/router';
import type { AdminRoutes } from '../extension-points/admin-routes';
import type { DiskQuota } from '../extension-points/disk-quota';
import type { FunctionRegistry } from '../extension-points/function-registry';
import type { Scheduler } from '../extension-points/scheduler';
import type { FunctionLoader } from '../functions/function-loader';
import type { InvokeService } from '../invoke/invoke-service';
import type { Logger } from '../log/logger';
import type { Metrics } from '../metrics/metrics';
import { OWNER_PATTERN } from '../functions/ol-yaml';
import { HttpError } from './http-error';
import { errorBody, readBody, requestId } from './middleware';
import { mountRunRoute } from './run-route';

export interface AdminDeps {
  invoker: InvokeService;
  registry: FunctionRegistry;
  scheduler: Scheduler;
  loader: FunctionLoader;
  log: Logger;
  maxBody: number;
  maxArchive: number;
  status: () => object;
  /** Routes contributed by plugins (AdminRoutes extension point). */
  pluginRoutes: AdminRoutes;
  /** Served as Prometheus text at GET /metrics. */
  metrics: Metrics;
  /** The DiskQuota backend, when one is loaded: uploads are charged to their owner. */
  quota?: DiskQuota;
}

/**
 * The admin API, served only on the worker's Unix socket (mode 0600 inside a
 * 0700 worker dir): registry management, stats, and `/run` for the CLI.
 */
export function createAdminApp(d: AdminDeps): Koa {
  const app = new Koa();
  const router = new Router();
  mountRunRoute(router, d.invoker, d.maxBody);
  router.get('/status', (ctx) => {
    ctx.body = d.status();
  });
  router.get('/stats', async (ctx) => {
    // functions.cached: names whose parsed config the loader holds (released by an eviction policy when unused).
    const disk = d.quota ? await d.quota.usage() : undefined;
    ctx.body = { scheduler: d.scheduler.stats(), functions: { cached: d.loader.size }, memory: process.memoryUsage(), disk };
  });
  router.get('/metrics', async (ctx) => {
    const { contentType, text } = await d.metrics.scrape();
    ctx.type = contentType;
    ctx.body = text;
  });
  router.get('/registry', async (ctx) => {
    ctx.body = { functions: await d.registry.list() };
  });
  router.post('/registry/:name', async (ctx) => {
    ctx.body = await install(d, ctx.params.name, await readBody(ctx, d.maxArchive), uploadOwner(ctx.query.owner));
    ctx.status = 201;
  });
  router.delete('/registry/:name', async (ctx) => {
    const name = ctx.params.name;
    if (!d.registry.writable || !(await d.registry.remove!(name))) {
      throw new HttpError(404, 'function-not-found', `no uploaded function named "${name}"`, 'GET /registry lists the functions');
    }
    d.loader.forget(name);
    await d.quota?.removeCode(name);
    await d.scheduler.retire(name);
    ctx.status = 204;
  });
  d.pluginRoutes.mount(router);
  app.use(requestId()).use(errorBody(d.log)).use(router.routes());
  return app;
}

/** Charge the uploaded code to its owner's disk quota; over quota, the upload is taken out again and refused (413). */
async function chargeQuota(d: AdminDeps, owner: string, name: string, codeDir: string): Promise<void> {
  if (!d.quota) return;
  try {
    await d.quota.storeCode(owner, name, codeDir);
  } catch (e) {
    await d.registry.remove!(name);
    if ((e as { status?: unknown }).status !== 413) throw e;
    throw new HttpError(413, 'disk-quota-exceeded', `rejected: ${(e as Error).message}`, `the upload of "${name}" was not kept`);
  }
}

/** `?owner=O` of an upload: recorded with the function, it wins over ol.yaml's owner. */
function uploadOwner(q: string | string[] | undefined): string | undefined {
  if (q === undefined) return undefined;
  if (typeof q !== 'string' || !new RegExp(OWNER_PATTERN).test(q)) {
    throw new HttpError(400, 'bad-owner', `owner ${JSON.stringify(q)} is not a valid owner name (${OWNER_PATTERN})`, 'use letters, digits and _.@- (at most 64), starting with a letter or digit');
  }
  return q;
}

/** Store the archive, check the function loads (or take it out again), retire old instances. */
async function install(d: AdminDeps, name: string, archive: Buffer, uploadedOwner?: string): Promise<object> {
  if (!d.registry.writable) throw new HttpError(405, 'registry-read-only', 'no loaded registry plugin accepts uploads', 'enable a writable registry plugin (e.g. registry-dir)');
  const source = await d.registry.install!(name, archive, { owner: uploadedOwner });
  let owner: string;
  try {
    owner = d.loader.check(name, source.codeDir, source.owner).config.owner;
  } catch (e) {
    await d.registry.remove!(name);
    throw e instanceof HttpError ? new HttpError(400, e.code, `rejected: ${e.message}`, e.hint) : e;
  }
  await chargeQuota(d, owner, name, source.codeDir);
  d.loader.forget(name);
  await d.scheduler.retire(name, source.version);
  d.log.info({ fn: name, version: source.version, owner }, 'function installed');
  return { name, version: source.version, owner };
}
