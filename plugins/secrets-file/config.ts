/** The `secrets-file:` section of the worker config, defaults applied by the kernel. */
export interface SecretsFileConfig {
  /** The encrypted store; `<worker dir>/secrets.enc` when unset. */
  file?: string;
  /** Environment variable holding the key (checked first). */
  key_env: string;
  /** File holding the key; `<worker dir>/secrets.key` when unset. */
  key_file?: string;
  /** Create a random key in key_file on the first write when there is none. */
  generate_key: boolean;
}

const absolutePath = { type: 'string', pattern: '^/' };

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    file: { ...absolutePath, description: 'the encrypted store (default <worker dir>/secrets.enc)' },
    key_env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', default: 'OL_SECRETS_KEY', description: 'environment variable holding the 256-bit key (64 hex digits or base64)' },
    key_file: { ...absolutePath, description: 'file holding the key (default <worker dir>/secrets.key)' },
    generate_key: { type: 'boolean', default: true, description: 'create a random key_file on the first write when no key exists' },
  },
};
