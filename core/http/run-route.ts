import type Router from '@koa/router';
import type { InvokeService } from '../invoke/invoke-service';
import { readBody } from './middleware';
import { requestedKnobs } from './cgroup-request';

/** `/run/<name>` with any method: the body is the event; the function's config decides which methods it accepts. */
export function mountRunRoute(router: Router, invoker: InvokeService, maxBody: number): void {
  router.all('/run/:name', async (ctx) => {
    const body = await readBody(ctx, maxBody);
    const res = await invoker.invoke({ name: ctx.params.name, method: ctx.method, body, requestId: ctx.state.requestId, logType: ctx.get('x-ol-log-type') || undefined, cgroup: requestedKnobs(ctx) });
    ctx.status = res.status;
    if (res.headers) ctx.set(res.headers);
    ctx.type = res.contentType;
    ctx.body = res.body;
  });
}
