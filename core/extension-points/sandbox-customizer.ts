import { defineExtensionPoint } from '../plugin/extension-point';
import type { LoadedFunction } from '../functions/function-config';

/** A host path made visible inside the sandbox. */
export interface SandboxMount {
  source: string;
  /** Absolute path inside the sandbox. */
  target: string;
  writable?: boolean;
}

/**
 * What a customizer adds to one sandbox before it starts. List fields are
 * concatenated across customizers; single-valued fields may be set by at most
 * one customizer (two setting the same field is a configuration error).
 */
export interface SandboxAdditions {
  mounts?: SandboxMount[];
  env?: Record<string, string>;
  /** Directories (paths inside the sandbox) prepended to the function's sys.path. */
  pythonPaths?: string[];
  /** Host path of a compiled seccomp filter (raw struct sock_filter array) for the function's process. */
  seccompFilter?: string;
  /** Host path of a network namespace to join (e.g. /run/netns/x) instead of a private one. */
  netns?: string;
  /** Host directory to use as the sandbox's writable /host instead of one under the worker dir. */
  scratchDir?: string;
}

const SINGLE_VALUED = ['seccompFilter', 'netns', 'scratchDir'] as const;

/**
 * Adds to sandboxes without changing the sandbox backend: packages mount
 * their store, secrets mount a proxy socket, quotas move scratch space,
 * seccomp supplies a filter. Combination: `parallel`: every customizer's
 * `prepare` runs for every new sandbox, and the results are merged.
 */
export interface SandboxCustomizer {
  prepare(fn: LoadedFunction, sandboxId: string): Promise<SandboxAdditions>;
  /** Called once the sandbox is destroyed. */
  release?(sandboxId: string): Promise<void>;
  /**
   * The sandbox starts serving the request `requestId`, or (null) has finished
   * it. Lets a customizer attribute what the sandbox does (e.g. egress through
   * a secrets proxy) to the request, for its audit log. Must not block.
   */
  serving?(sandboxId: string, requestId: string | null): void;
}

export const SandboxCustomizerPoint = defineExtensionPoint<SandboxCustomizer>({
  id: 'SandboxCustomizer',
  combine: 'parallel',
  optional: true,
  compose: (customizers) => ({
    async prepare(fn, sandboxId) {
      const parts = await Promise.all(customizers.map((c) => c.prepare(fn, sandboxId)));
      return mergeAdditions(parts);
    },
    async release(sandboxId) {
      await Promise.all(customizers.map((c) => c.release?.(sandboxId)));
    },
    serving(sandboxId, requestId) {
      for (const c of customizers) c.serving?.(sandboxId, requestId);
    },
  }),
});

export function mergeAdditions(parts: SandboxAdditions[]): SandboxAdditions {
  const out: SandboxAdditions = { mounts: [], env: {}, pythonPaths: [] };
  for (const p of parts) {
    out.mounts!.push(...(p.mounts ?? []));
    out.pythonPaths!.push(...(p.pythonPaths ?? []));
    for (const [k, v] of Object.entries(p.env ?? {})) {
      if (k in out.env! && out.env![k] !== v) throw new Error(`two sandbox customizers set the environment variable ${k}`);
      out.env![k] = v;
    }
    for (const key of SINGLE_VALUED) {
      if (p[key] === undefined) continue;
      if (out[key] !== undefined) throw new Error(`two sandbox customizers set ${key}; enable only one plugin that does`);
      out[key] = p[key];
    }
  }
  return out;
}
