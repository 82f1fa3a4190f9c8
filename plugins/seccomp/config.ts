import * as path from 'node:path';

/** The `seccomp:` section of the worker config. */
export interface SeccompConfig {
  /** The profile of functions whose ol.yaml names none. */
  profile: string;
  /** Profiles an ol.yaml `seccomp:` key may name (the default is always allowed). */
  allowed_profiles: string[];
  /** Directories of operator profiles, `<name>.json` in the OCI/Docker format. */
  profile_dirs: string[];
  /** What a call the profile does not allow does: fail with EPERM, or kill the instance (the debug record names the call). */
  blocked_action: 'errno' | 'kill';
}

/** Profiles shipped with the plugin (found in the source tree from dist/, like the sock runtime). */
export const BUILTIN_PROFILE_DIR = path.resolve(__dirname, '../../../plugins/seccomp/profiles');

export const PROFILE_NAME = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';

export const seccompConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    profile: { type: 'string', pattern: PROFILE_NAME, default: 'default', description: 'profile of functions whose ol.yaml names none' },
    allowed_profiles: { type: 'array', items: { type: 'string', pattern: PROFILE_NAME }, default: [], description: 'other profiles ol.yaml `seccomp:` may name' },
    profile_dirs: { type: 'array', items: { type: 'string', pattern: '^/' }, default: [], description: 'directories of <name>.json profiles (OCI/Docker format); they shadow the built-in ones' },
    blocked_action: { enum: ['errno', 'kill'], default: 'errno', description: 'errno: a blocked call fails with EPERM; kill: the instance is killed and the call named in the debug record' },
  },
};
