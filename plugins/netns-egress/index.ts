import { FunctionValidatorPoint, PluginError, SandboxCustomizerPoint, definePlugin } from '../../core';
import { netnsEgressConfigSchema, type NetnsEgressConfig } from './config';
import { EgressNamespace } from './egress-namespace';
import { NetworkCustomizer, NetworkValidator } from './policy';

/**
 * Network policies of functions: `none` (the sock backend's private
 * namespace, loopback only) or `egress` (outbound internet through one
 * shared namespace per worker, a veth to the host and NAT, with the host's
 * own addresses, link-local/metadata, private ranges and the other
 * instances blocked). ol.yaml `network:` chooses among the operator's
 * `allowed` policies. Needs `ip` (iproute2) and `nft` (nftables).
 */
export default definePlugin({
  name: 'netns-egress',
  version: '0.1.0',
  description: 'per-function network policy: none, or outbound internet through a shared, filtered network namespace',
  coreApi: '^1.0.0',
  provides: [SandboxCustomizerPoint, FunctionValidatorPoint],
  requires: [],
  configSchema: netnsEgressConfigSchema,
  register(ctx) {
    ctx.container.registerSingleton(EgressNamespace);
    ctx.provide(SandboxCustomizerPoint, NetworkCustomizer);
    ctx.provide(FunctionValidatorPoint, NetworkValidator);
  },
  async start(ctx) {
    const config = ctx.config as NetnsEgressConfig;
    if (!config.allowed.includes(config.default)) {
      throw new PluginError('netns-egress', `default policy "${config.default}" is not in allowed (${config.allowed.join(', ')})`, 'add it to netns-egress.allowed or change netns-egress.default');
    }
    const egress = ctx.resolve(EgressNamespace);
    try {
      if (!config.allowed.includes('egress')) return await egress.removeLeftovers();
      await egress.start();
    } catch (e) {
      throw new PluginError('netns-egress', `cannot set up the egress network namespace: ${(e as Error).message}`);
    }
  },
  async stop(ctx) {
    if ((ctx.config as NetnsEgressConfig).allowed.includes('egress')) await ctx.resolve(EgressNamespace).stop();
  },
});
