import Koa from 'koa';
import Router from '@koa/router';
import type { InvokeService } from '../invoke/invoke-service';
import type { Logger } from '../log/logger';
import { errorBody, requestId } from './middleware';
import { mountRunRoute } from './run-route';

/**
 * The only listener outsiders reach: `/run/<name>` and `/status`. Everything
 * else, admin endpoints included, is 404 here (they live on the Unix socket).
 */
export function createPublicApp(invoker: InvokeService, log: Logger, maxBody: number): Koa {
  const app = new Koa();
  const router = new Router();
  mountRunRoute(router, invoker, maxBody);
  router.get('/status', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  app.use(requestId()).use(errorBody(log)).use(router.routes());
  return app;
}
