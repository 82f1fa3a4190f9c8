import { SecretProviderPoint, definePlugin } from '../../core';
import { configSchema } from './config';
import { FileSecretProvider } from './file-provider';

export { FileSecretProvider } from './file-provider';

/**
 * A writable SecretProvider: one file of AES-256-GCM sealed values, the key
 * from the environment or a key file. `ol secret put` writes here.
 */
export default definePlugin({
  name: 'secrets-file',
  version: '0.1.0',
  description: 'Encrypted file secret store (AES-256-GCM, key from the environment or a file)',
  coreApi: '^1.0.0',
  provides: [SecretProviderPoint],
  requires: [],
  configSchema,
  register(ctx) {
    ctx.container.registerSingleton(FileSecretProvider);
    ctx.provide(SecretProviderPoint, FileSecretProvider);
  },
});
