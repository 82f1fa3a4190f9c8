import type { ResourceLimits } from './resource-limits';
import type { ResolvedPackages } from '../extension-points/package-resolver';

/** A function as the worker understands it, parsed from ol.yaml, requirements.txt and f.py comments. */
export interface FunctionConfig {
  /** Python file that defines the handler, relative to the code dir. */
  entry: string;
  /** Name of the handler function in the entry file. */
  handler: string;
  /** Who owns the function (accounting, quotas, log access). */
  owner: string;
  /** Allowed HTTP methods, upper case; null means any. */
  methods: string[] | null;
  /** Environment variables the instance gets (nothing else from the host). */
  environment: Record<string, string>;
  /** OpenLambda's `reuse-sandbox`: keep warm instances between requests. */
  reuseSandbox: boolean;
  /** PEP 508 requirement strings the function needs. */
  packages: string[];
  /** Modules to import before the first request. */
  imports: string[];
  /** The limits this function asked for; unset keys take the operator's defaults. */
  limits: Partial<ResourceLimits>;
  /** cgroup v2 keys its ol.yaml sets, as written (checked against the operator's `cgroup:` policy when loaded). */
  cgroup?: Record<string, string | number | boolean>;
  /** Secrets it asks for (ol.yaml `secrets`); the operator's role for it must grant each. */
  secrets?: SecretRequest[];
  /** The seccomp profile it asks for (ol.yaml `seccomp`); unset: the operator's default. */
  seccomp?: string;
  /** The network it asks for (ol.yaml `network`); unset: the operator's default. */
  network?: 'none' | 'egress';
  /** ol.yaml `scratch.tmpfs_mb`: its scratch dir is a tmpfs of this size (charged to its memory limit) instead of disk. */
  scratchTmpfsMb?: number;
}

/** How an instance may use a secret: through the egress proxy (the value never enters it), or holding it. */
export type SecretMode = 'proxy' | 'env' | 'file';

/** One secret a function asks for in ol.yaml. */
export interface SecretRequest {
  name: string;
  mode: SecretMode;
  /** mode env: the variable that holds the value. */
  env?: string;
}

/** A function version the registry can hand out: code on disk plus parsed config. */
export interface FunctionSource {
  name: string;
  /** Content-derived version; a new one retires instances of the old. */
  version: string;
  /** Absolute path of the code directory (mounted read-only at /handler). */
  codeDir: string;
  /** The owner recorded with the upload (`ol admin install --owner`); it wins over ol.yaml's `owner:`. */
  owner?: string;
}

/** A function ready to run: source, config and the limits it will get. */
export interface LoadedFunction extends FunctionSource {
  config: FunctionConfig;
  limits: ResourceLimits;
  /** The installed packages (set by the PackageResolver when the function declares any). */
  packages?: ResolvedPackages;
  /**
   * Set on the synthetic functions of the zygote plugins: `zygote` (a fork
   * server: a SandboxCustomizer such as seccomp gives it its zygote tier) or
   * `probe` (a throwaway sandbox of the suitability check). Unset: a leaf.
   */
  role?: 'zygote' | 'probe';
}
