import { AdminRoutesPoint, FunctionValidatorPoint, SandboxCustomizerPoint, SecretProviderPoint, definePlugin } from '../../core';
import { SecretAdminRoutes } from './admin-routes';
import { AuditLog } from './audit-log';
import { configSchema } from './config';
import { SecretDelivery } from './delivery';
import { EgressProxy } from './egress-proxy';
import { LiveSandboxes } from './live-sandboxes';
import { Policy } from './policy';
import { Rotation } from './rotation';
import { RunDir } from './run-dir';
import { GrantValidator } from './validator';

/**
 * IAM-role-like grants of secrets to functions: the operator's roles and
 * grants, checked when a function is installed and loaded; delivery through
 * the egress proxy (the value never enters the sandbox), or as environment
 * variables or tmpfs files; rotation; an audit log; admin endpoints.
 */
export default definePlugin({
  name: 'secret-grants',
  version: '0.1.0',
  description: 'Roles granting secrets to functions; egress proxy, env and file delivery, audit log',
  coreApi: '^1.0.0',
  provides: [SandboxCustomizerPoint, FunctionValidatorPoint, AdminRoutesPoint],
  requires: [SecretProviderPoint],
  configSchema,
  register(ctx) {
    for (const cls of [Policy, AuditLog, RunDir, LiveSandboxes, EgressProxy, Rotation, SecretDelivery]) ctx.container.registerSingleton(cls as any);
    ctx.provide(SandboxCustomizerPoint, SecretDelivery);
    ctx.provide(FunctionValidatorPoint, GrantValidator);
    ctx.provide(AdminRoutesPoint, SecretAdminRoutes);
  },
  async start(ctx) {
    ctx.resolve(Policy);
    ctx.resolve(RunDir).removeAll();
    ctx.resolve(Rotation).start();
  },
  async stop(ctx) {
    ctx.resolve(Rotation).stop();
    await ctx.resolve(EgressProxy).stop();
    ctx.resolve(RunDir).removeAll();
    await ctx.resolve(AuditLog).close();
  },
});
