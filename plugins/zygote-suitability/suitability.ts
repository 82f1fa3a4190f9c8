import * as path from 'node:path';
import type { DependencyContainer } from 'tsyringe';
import {
  PackageResolverPoint,
  SandboxBackendPoint,
  SingleFlight,
  Tokens,
  inject,
  injectable,
  type LoadedFunction,
  type Logger,
  type PackageResolver,
  type ResourceLimits,
  type SandboxAdditions,
  type SandboxBackend,
  type SandboxCustomizer,
  type SuitabilityReason,
  type SuitabilityVerdict,
  type WorkerConfig,
  type WorkerPaths,
  type ZygoteSuitability,
} from '../../core';
import type { SuitabilityConfig } from './config';
import { findPackage, type FoundPackage } from './package-finder';
import { withProbeSandbox } from './probe-sandbox';
import { fdSignature, fdsBeyond, judge, snapshot } from './process-probe';
import { VerdictCache } from './verdict-cache';

/** Where package dirs appear inside a probe sandbox (the pypi plugin's layout). */
const PACKAGES_MOUNT = '/packages';

/**
 * The zygote-suitability check: a package version is imported in a
 * throwaway sandbox and the runtime is inspected from outside (threads, fds,
 * child processes, shared writable mappings), against a clean runtime's
 * baseline. Verdicts are cached on disk. Also a SandboxCustomizer that
 * mounts package_dirs packages into its own probe sandboxes.
 */
@injectable()
export class SuitabilityChecker implements ZygoteSuitability, SandboxCustomizer {
  private readonly cache: VerdictCache;
  private readonly inFlight = new SingleFlight<string, SuitabilityVerdict | null>();
  /** fd signatures of a clean runtime (stdio, its sockets): not the package's doing. */
  private baseline?: Promise<string[]>;
  /** Package dirs to mount, per probe function. */
  private readonly probeMounts = new WeakMap<LoadedFunction, string[]>();

  constructor(
    @inject(Tokens.PluginConfig) private readonly config: SuitabilityConfig,
    @inject(Tokens.WorkerPaths) private readonly paths: WorkerPaths,
    @inject(Tokens.WorkerConfig) private readonly worker: WorkerConfig,
    @inject(Tokens.Logger) private readonly log: Logger,
    @inject(Tokens.Container) private readonly container: DependencyContainer,
  ) {
    this.cache = new VerdictCache(path.resolve(paths.root, config.cache_dir));
  }

  async verdict(name: string, version?: string): Promise<SuitabilityVerdict | null> {
    const found = await findPackage(name, version, this.config.package_dirs, () => this.optional<PackageResolver>(PackageResolverPoint.token));
    if (!found) return null;
    const key = `${found.name}==${found.version}`;
    const cached = await this.cache.get(found.name, found.version);
    if (cached) return cached;
    return this.inFlight.run(key, () => this.probe(found));
  }

  async inspect(pid: number, allowedFds: number[]): Promise<SuitabilityReason[]> {
    return judge(snapshot(pid), new Set(allowedFds)).filter((r) => r.unsafe);
  }

  async prepare(fn: LoadedFunction): Promise<SandboxAdditions> {
    const dirs = fn.role === 'probe' ? this.probeMounts.get(fn) : undefined;
    if (!dirs?.length) return {};
    const targets = dirs.map((d) => path.posix.join(PACKAGES_MOUNT, path.basename(d)));
    return { mounts: dirs.map((source, i) => ({ source, target: targets[i] })), pythonPaths: targets };
  }

  private async probe(pkg: FoundPackage): Promise<SuitabilityVerdict> {
    const ignore = await (this.baseline ??= this.cleanFds().catch((e) => {
      this.baseline = undefined;
      throw e;
    }));
    const started = performance.now();
    const reasons = await this.inSandbox(pkg.modules, `${pkg.name}-${pkg.version}`, pkg, ({ pid, importError }) => {
      if (importError) return [{ kind: 'import-error', unsafe: true, detail: `importing ${pkg.modules.join(', ')} failed: ${importError}` }];
      const snap = snapshot(pid);
      return judge(snap, fdsBeyond(snap, ignore));
    });
    if (!pkg.modules.length) reasons.push({ kind: 'no-modules', unsafe: false, detail: 'the package provides no top-level module to import; nothing was imported' });
    const verdict: SuitabilityVerdict = {
      package: pkg.name,
      version: pkg.version,
      suitable: !reasons.some((r) => r.unsafe),
      reasons,
      modules: pkg.modules,
      checkedAt: new Date().toISOString(),
    };
    await this.cache.put(verdict);
    this.log.info({ package: pkg.name, version: pkg.version, suitable: verdict.suitable, reasons: reasons.filter((r) => r.unsafe).map((r) => r.kind), ms: Math.round(performance.now() - started) }, 'zygote suitability checked');
    return verdict;
  }

  /** The fds a runtime that imported nothing holds. */
  private async cleanFds(): Promise<string[]> {
    return this.inSandbox([], 'baseline', undefined, ({ pid }) => snapshot(pid).fds.map(fdSignature));
  }

  private async inSandbox<T>(modules: string[], label: string, pkg: FoundPackage | undefined, use: (p: { pid: number; importError?: string }) => T): Promise<T> {
    const backend = this.optional<SandboxBackend>(SandboxBackendPoint.token);
    if (!backend) throw new Error('the zygote suitability check needs a SandboxBackend to import packages in; add the sock plugin to plugins:');
    const opts = {
      backend,
      workDir: path.resolve(this.paths.root, this.config.cache_dir, 'probes'),
      modules,
      limits: this.limits(),
      packages: pkg?.resolved,
      label,
      onFunction: (fn: LoadedFunction) => this.probeMounts.set(fn, pkg?.dirs ?? []),
    };
    try {
      return await withProbeSandbox(opts, async (probe) => use(probe));
    } catch (e) {
      throw new Error(`cannot check ${label} for zygote suitability: ${(e as Error).message}`);
    }
  }

  private limits(): ResourceLimits {
    const d = this.worker.limits.defaults as Record<string, number>;
    return { memMb: Math.max(d.mem_mb ?? 128, 256), procs: Math.max(d.procs ?? 64, 64), cpuPercent: d.cpu_percent ?? 100, timeoutMs: this.config.probe_timeout_ms };
  }

  private optional<T>(token: symbol): T | undefined {
    return this.container.isRegistered(token, true) ? this.container.resolve<T>(token) : undefined;
  }
}
