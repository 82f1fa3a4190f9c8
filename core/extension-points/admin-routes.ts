import type Router from '@koa/router';
import { defineExtensionPoint } from '../plugin/extension-point';

/**
 * Lets a plugin serve its own admin endpoints (package locks, debug records,
 * usage, secrets...) on the worker's admin Unix socket, never on the public
 * listener. Combination: `parallel`: every provider mounts its routes on the
 * one admin router; two providers claiming the same path is a bug in one of
 * them. Throw an Error with a 4xx `status` to reject bad input.
 */
export interface AdminRoutes {
  mount(router: Router): void;
}

export const AdminRoutesPoint = defineExtensionPoint<AdminRoutes>({
  id: 'AdminRoutes',
  combine: 'parallel',
  optional: true,
  compose: (providers) => ({
    mount(router) {
      for (const p of providers) p.mount(router);
    },
  }),
});
