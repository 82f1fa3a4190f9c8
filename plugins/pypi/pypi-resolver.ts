import * as path from 'node:path';
import type { DependencyContainer } from 'tsyringe';
import { SandboxBackendPoint, Tokens, inject, injectable, type Logger, type PackageResolver, type ResolvedPackages, type SandboxBackend, type WorkerPaths } from '../../core';
import type { PypiConfig } from './config';
import { Finder, sha256 } from './finder';
import { BuildRequirements } from './build-requirements';
import { checkLockMatches, readLock, type LockFile } from './lock-file';
import { PackageError } from './package-error';
import { PackageStore } from './package-store';
import { probePython, type PythonTarget } from './python-target';
import { Resolver, parseRoots, type ResolverOptions } from './resolver';
import { SdistBuilder } from './sdist-builder';
import { SimpleIndex } from './simple-index';

/** What the worker chose for one function: shown by the admin API so the author can freeze it. */
export interface ResolutionReport {
  function: string;
  locked: boolean;
  resolved_at: string;
  /** The same document `ol pkg lock` writes: save it as ol.lock to freeze this set. */
  lock: LockFile;
}

/**
 * The PackageResolver of the pypi plugin: installs a function's ol.lock
 * exactly (hashes verified), or resolves its requirements against the
 * configured indexes, then installs each wheel once into the shared store.
 * Versions with only an sdist are built into wheels in a sandbox.
 */
@injectable()
export class PypiResolver implements PackageResolver {
  readonly store: PackageStore;
  private readonly builder: SdistBuilder;
  private target?: Promise<PythonTarget>;
  private readonly reports = new Map<string, ResolutionReport>();

  constructor(
    @inject(Tokens.PluginConfig) private readonly config: PypiConfig,
    @inject(Tokens.WorkerPaths) paths: WorkerPaths,
    @inject(Tokens.Logger) private readonly log: Logger,
    // Optional so unit tests can build a resolver without a kernel (no sandbox: sdists cannot be built then).
    @inject(Tokens.Container) private readonly container?: DependencyContainer,
  ) {
    this.store = new PackageStore(path.resolve(config.store_dir ?? path.join(paths.root, 'packages')), config.store_budget_mb * 1024 * 1024, log);
    const requirements = new BuildRequirements({
      store: this.store,
      python: config.python,
      resolver: this.resolverOptions(),
      target: () => this.pythonTarget(),
      wheelFinder: () => this.finder(false),
    });
    this.builder = new SdistBuilder({
      config: config.build,
      python: config.python,
      workDir: path.join(this.store.dir, '.builds'),
      cache: this.store.builtWheels,
      // Looked up per build: the sandbox backend depends on this plugin (its customizer), so it cannot be injected.
      backend: () => (this.container?.isRegistered(SandboxBackendPoint.token, true) ? this.container.resolve<SandboxBackend>(SandboxBackendPoint.token) : undefined),
      installDeps: (requires, what) => requirements.install(requires, what),
      log,
    });
  }

  async resolve(functionName: string, requirements: string[], codeDir: string): Promise<ResolvedPackages> {
    const started = Date.now();
    const existing = readLock(codeDir);
    // One Finder for resolving and installing: a wheel downloaded for its metadata is not fetched again.
    const finder = await this.finder();
    const lock = existing ? (checkLockMatches(existing, requirements), existing) : await this.lock(requirements, functionName, finder);
    const keys = lock.packages.map((p) => PackageStore.key(p.name, p.version));
    // Claimed before installing, so another function's eviction cannot remove them in between.
    this.store.useByFunction(functionName, keys);
    const dirs = await Promise.all(lock.packages.map((p) => this.install(finder, p.name, p.version, p.file, existing ? p.sha256 : undefined)));
    this.reports.set(functionName, { function: functionName, locked: !!existing, resolved_at: new Date().toISOString(), lock });
    await this.store.evict();
    this.log.info({ fn: functionName, packages: keys, locked: !!existing, ms: Date.now() - started }, 'packages ready');
    return { pins: lock.packages.map((p) => `${p.name}==${p.version}`), paths: dirs, locked: !!existing };
  }

  /** Resolve requirements into a lock (nothing installed): used by `ol pkg lock` and by resolve(). */
  async lock(requirements: string[], fnName = 'the function', finder?: Finder): Promise<LockFile> {
    const target = await this.pythonTarget();
    finder ??= await this.finder();
    const roots = parseRoots(requirements, fnName);
    const pins = await new Resolver(finder, target, this.resolverOptions()).resolve(roots);
    const packages = await Promise.all(
      pins.map(async (p) => ({
        name: p.candidate.name,
        version: p.candidate.version,
        file: p.candidate.file.filename,
        sha256: p.candidate.file.sha256?.toLowerCase() ?? sha256(await finder.download(p.candidate.file)),
        required_by: p.requiredBy,
      })),
    );
    packages.sort((a, b) => a.name.localeCompare(b.name));
    return { lock_version: 1, requirements: [...requirements], python: { version: target.pythonVersion, tag: target.tags[0] }, packages };
  }

  /** The function is gone or replaced: its versions stay in the store but may be evicted. */
  forget(functionName: string): void {
    this.reports.delete(functionName);
    this.store.forgetFunction(functionName);
  }

  report(fn: string): ResolutionReport | undefined {
    return this.reports.get(fn);
  }

  pythonTarget(): Promise<PythonTarget> {
    this.target ??= probePython(this.config.python).catch((e) => {
      this.target = undefined; // retry next time (the interpreter may be installed later)
      throw e;
    });
    return this.target;
  }

  private resolverOptions(): ResolverOptions {
    return { allowPrereleases: this.config.allow_prereleases, maxRounds: this.config.max_rounds };
  }

  /** A Finder over the configured sources; `builds`: versions with only an sdist are candidates (built on demand). */
  private async finder(builds = true): Promise<Finder> {
    await this.store.init();
    const indexes = [this.config.index_url, ...this.config.extra_index_urls].map((u) => new SimpleIndex(u, this.config.timeout_ms));
    const opts = {
      indexes,
      wheelDir: this.config.wheel_dir,
      timeoutMs: this.config.timeout_ms,
      installedMetadata: (n: string, v: string) => this.store.metadata(n, v),
      ...(builds ? { build: this.builder.build.bind(this.builder) } : {}),
    };
    return new Finder(opts, await this.pythonTarget());
  }

  /** Install one pinned file (from the store if already there). With `lockHash`, the file must match it. */
  private install(finder: Finder, name: string, version: string, filename: string, lockHash?: string): Promise<string> {
    return this.store.ensure(name, version, async () => {
      const project = await finder.project(name);
      const candidate = project.candidates.find((c) => c.file.filename === filename);
      if (!candidate) {
        throw new PackageError(`${filename} (${name} ${version}) is not offered by any configured index or wheel dir`, 'check pypi.index_url, or re-run `ol pkg lock` if the lock is out of date');
      }
      return finder.wheel(candidate, lockHash);
    });
  }
}
