import { SecretProviderPoint, definePlugin } from '../../core';
import { configSchema } from './config';
import { DirSecretProvider } from './dir-provider';

export { DirSecretProvider } from './dir-provider';

/**
 * A read-only SecretProvider over a mounted directory (a Kubernetes secret
 * volume, a tmpfs filled by a vault agent...). Rotation by the kubelet's
 * `..data` symlink swap takes effect without a restart.
 */
export default definePlugin({
  name: 'secrets-dir',
  version: '0.1.0',
  description: 'Read-only secrets from a mounted directory (Kubernetes secret volume layout)',
  coreApi: '^1.0.0',
  provides: [SecretProviderPoint],
  requires: [],
  configSchema,
  register(ctx) {
    ctx.container.registerSingleton(DirSecretProvider);
    ctx.provide(SecretProviderPoint, DirSecretProvider);
  },
});
