/** The `secrets-dir:` section of the worker config, defaults applied by the kernel. */
export interface SecretsDirConfig {
  /** The mounted directory (one file per secret); no secrets when unset. */
  dir?: string;
  /** Drop one trailing newline (files written with `echo` have one; Kubernetes' do not). */
  trim_newline: boolean;
}

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    dir: { type: 'string', pattern: '^/', description: 'directory of secret files, e.g. a Kubernetes secret volume' },
    trim_newline: { type: 'boolean', default: true, description: 'drop one trailing newline from each value' },
  },
};
