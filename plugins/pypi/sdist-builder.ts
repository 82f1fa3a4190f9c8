import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { eq } from '@renovatebot/pep440';
import { SingleFlight, type LoadedFunction, type Logger, type SandboxBackend } from '../../core';
import { BuildCache, type BuiltWheel } from './build-cache';
import { BUILD_HANDLER } from './build-handler';
import { readBuildSystem } from './build-system';
import type { BuildConfig } from './config';
import { parseFilename } from './dist-file';
import { PackageError } from './package-error';
import { PACKAGES_MOUNT } from './sandbox-paths';
import { unpackSdist } from './sdist-unpack';

/** The sdist to build: what the resolver picked, and its bytes (hash already checked). */
export interface SdistToBuild {
  name: string;
  version: string;
  filename: string;
  data: Buffer;
  sha256: string;
}

/** Build requirements installed for one build; `done` lets the store evict them again. */
export interface BuildDeps {
  dirs: string[];
  done(): void;
}

export interface SdistBuilderOptions {
  config: BuildConfig;
  /** The interpreter that parses pyproject.toml (pypi.python). */
  python: string;
  /** Scratch for unpacked sources (one directory per build, removed after it). */
  workDir: string;
  cache: BuildCache;
  /** The sandbox backend, looked up when a build runs (it depends on this plugin through its customizers). */
  backend: () => SandboxBackend | undefined;
  /** Resolve and install the build requirements (PEP 508 lines) into the store. */
  installDeps: (requires: string[], what: string) => Promise<BuildDeps>;
  log: Logger;
}

/** Lines of the build log shown in an error. */
const LOG_LINES = 25;

/**
 * Builds wheels from sdists without running package code in the worker: the
 * sdist is unpacked here (files and directories only, nothing outside the
 * tree), its PEP 517/518 build requirements are installed into the store, and
 * the backend's build_wheel hook runs in a throwaway sandbox (no network, the
 * unprivileged sandbox user, memory/process/time limits of pypi.build).
 * Results are cached per name==version; concurrent builds of one are shared.
 */
export class SdistBuilder {
  private readonly inFlight = new SingleFlight<string, BuiltWheel>();

  constructor(private readonly opts: SdistBuilderOptions) {}

  build(sdist: SdistToBuild): Promise<BuiltWheel> {
    const key = `${sdist.name}-${sdist.version}`;
    return this.inFlight.run(key, () => this.cachedOrBuilt(key, sdist));
  }

  private async cachedOrBuilt(key: string, sdist: SdistToBuild): Promise<BuiltWheel> {
    const cached = await this.opts.cache.get(key, sdist.sha256);
    if (cached) return cached;
    const started = Date.now();
    const wheel = await this.buildInSandbox(sdist);
    await this.opts.cache.put(key, sdist.sha256, wheel);
    this.opts.log.info({ package: key, sdist: sdist.filename, wheel: wheel.filename, ms: Date.now() - started }, 'wheel built from sdist');
    return wheel;
  }

  private async buildInSandbox(sdist: SdistToBuild): Promise<BuiltWheel> {
    const what = `${sdist.name} ${sdist.version}`;
    const backend = this.opts.backend();
    if (!backend) throw new PackageError(`${what} publishes only an sdist, and building it needs a sandbox backend`, 'add the sock plugin to plugins:, or pin a version that publishes a wheel', 503);
    const dir = path.join(this.opts.workDir, `build-${randomBytes(6).toString('hex')}`);
    const code = path.join(dir, 'code');
    await fs.mkdir(code, { recursive: true, mode: 0o755 });
    await fs.chmod(dir, 0o711);
    let deps: BuildDeps | undefined;
    try {
      await fs.writeFile(path.join(code, 'f.py'), BUILD_HANDLER, { mode: 0o644 });
      await fs.mkdir(path.join(code, 'src'), { mode: 0o755 });
      const root = await unpackSdist(sdist.data, sdist.filename, path.join(code, 'src'), this.opts.config.max_unpacked_mb * 1024 * 1024);
      const system = await readBuildSystem(this.opts.python, root, `${what} (${sdist.filename})`);
      deps = await this.opts.installDeps(system.requires, `${what} (${sdist.filename})`);
      const event = {
        source: path.posix.join('/handler', path.relative(code, root)),
        backend: system.backend,
        backend_path: system.backendPath,
        paths: deps.dirs.map((d) => path.posix.join(PACKAGES_MOUNT, path.basename(d))),
        timeout_s: Math.max(1, Math.floor(Math.max(this.opts.config.timeout_ms * 0.9, this.opts.config.timeout_ms - 5000) / 1000)),
      };
      const answer = await this.runSandbox(backend, this.buildFunction(sdist, code, deps.dirs), event, what);
      return this.checkWheel(answer, sdist, what);
    } finally {
      deps?.done();
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  /** The synthetic function whose one call builds the wheel (role probe: no zygote, thrown away). */
  private buildFunction(sdist: SdistToBuild, codeDir: string, depDirs: string[]): LoadedFunction {
    const c = this.opts.config;
    return {
      name: `pypi-build.${sdist.name}-${sdist.version}`,
      version: 'build',
      codeDir,
      role: 'probe',
      // network none: whatever the operator's default, a build never gets one (the handler checks too).
      config: { entry: 'f.py', handler: 'f', owner: 'ol-pypi-build', methods: null, environment: {}, reuseSandbox: false, packages: [], imports: [], limits: {}, network: 'none' },
      limits: { memMb: c.mem_mb, procs: c.procs, cpuPercent: c.cpu_percent, timeoutMs: c.timeout_ms },
      packages: { pins: [], paths: depDirs, locked: false },
    };
  }

  private async runSandbox(backend: SandboxBackend, fn: LoadedFunction, event: object, what: string): Promise<BuildAnswer> {
    const sandbox = await backend.create(fn);
    try {
      const out = await sandbox.invoke({ requestId: `pypi-build-${randomBytes(4).toString('hex')}`, body: Buffer.from(JSON.stringify(event)), method: 'POST' });
      if (!out.ok) {
        const f = out.failure;
        const log = [f.traceback ?? '', out.output?.stderr ?? ''].join('\n');
        throw buildFailed(what, `the build sandbox failed (${f.kind}${f.type ? ` ${f.type}` : ''}: ${f.message})`, log);
      }
      return JSON.parse(out.body.toString('utf8')) as BuildAnswer;
    } finally {
      await sandbox.destroy('sdist build done');
    }
  }

  /** The built file must be a wheel of the same name and version. */
  private checkWheel(answer: BuildAnswer, sdist: SdistToBuild, what: string): BuiltWheel {
    if (!answer.ok) throw buildFailed(what, answer.reason ?? 'the build failed', answer.log ?? '');
    const parsed = parseFilename(answer.filename ?? '');
    if (parsed?.kind !== 'wheel' || parsed.name !== sdist.name || !eq(parsed.version, sdist.version)) {
      throw buildFailed(what, `the build produced "${answer.filename}", not a wheel of ${what}`, answer.log ?? '');
    }
    return { filename: answer.filename!, data: Buffer.from(answer.wheel ?? '', 'base64') };
  }
}

interface BuildAnswer {
  ok: boolean;
  reason?: string;
  filename?: string;
  wheel?: string;
  log?: string;
}

function buildFailed(what: string, reason: string, log: string): PackageError {
  const lines = log.trimEnd().split('\n').slice(-LOG_LINES);
  const tail = lines.join('\n').trim() ? `; the last lines of the build log:\n${lines.map((l) => `  | ${l}`).join('\n')}` : ' (the build printed nothing)';
  return new PackageError(
    `building ${what} from its sdist failed: ${reason}${tail}`,
    'fix the package\'s build (its setup.py or pyproject.toml), pin a version that publishes a wheel, or put a built wheel in pypi.wheel_dir',
  );
}
