import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokens, inject, injectable, type Logger, type WorkerPaths } from '../../core';
import { nativeArch, type Arch } from './arch';
import { compileProfile } from './compile';
import { BUILTIN_PROFILE_DIR, type SeccompConfig } from './config';
import { ACTIONS, parseProfile, type SeccompProfile } from './profile';
import { TIERS, profileForTier, type Tier } from './tiers';

/**
 * The profiles this worker may use (the default and the allowed ones),
 * compiled at start for the host architecture in both tiers, one file each
 * under `<worker dir>/seccomp/`, which the launcher reads. A broken profile
 * stops the worker at start, not the first request that needs it.
 */
@injectable()
export class ProfileStore {
  readonly arch: Arch = nativeArch();
  private readonly files = new Map<string, string>();
  readonly dir: string;

  constructor(
    @inject(Tokens.PluginConfig) private readonly config: SeccompConfig,
    @inject(Tokens.WorkerPaths) paths: WorkerPaths,
    @inject(Tokens.Logger) private readonly log: Logger,
  ) {
    this.dir = path.join(paths.root, 'seccomp');
  }

  /** The profile names ol.yaml may choose: the default first. */
  get allowed(): string[] {
    return [...new Set([this.config.profile, ...this.config.allowed_profiles])];
  }

  start(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    for (const name of this.allowed) {
      const profile = this.load(name);
      for (const tier of TIERS) this.compile(name, profile, tier);
    }
    this.log.info({ profiles: this.allowed, arch: this.arch.name, blocked: this.config.blocked_action }, 'seccomp profiles compiled');
  }

  /** Host path of the compiled filter of profile `name` in `tier`; the name must be one of `allowed`. */
  filterFile(name: string, tier: Tier): string {
    const file = this.files.get(`${name}.${tier}`);
    if (!file) throw new Error(`seccomp profile "${name}" is not among the profiles this worker allows (${this.allowed.join(', ')}); add it to seccomp.allowed_profiles`);
    return file;
  }

  private load(name: string): SeccompProfile {
    const dirs = [...this.config.profile_dirs, BUILTIN_PROFILE_DIR];
    for (const dir of dirs) {
      const file = path.join(dir, `${name}.json`);
      if (fs.existsSync(file)) return parseProfile(fs.readFileSync(file, 'utf8'), file);
    }
    throw new Error(`seccomp profile "${name}" not found: no ${name}.json in ${dirs.join(', ')}; add the file or fix seccomp.profile / seccomp.allowed_profiles`);
  }

  private compile(name: string, profile: SeccompProfile, tier: Tier): void {
    const defaultAction = this.config.blocked_action === 'kill' ? ACTIONS.SCMP_ACT_KILL_PROCESS : undefined;
    let compiled;
    try {
      compiled = compileProfile(profileForTier(profile, tier), this.arch, { defaultAction });
    } catch (e) {
      throw new Error(`seccomp profile "${name}" (${tier} tier): ${(e as Error).message}`);
    }
    const file = path.join(this.dir, `${name}.${tier}.bpf`);
    fs.writeFileSync(file, compiled.program, { mode: 0o644 });
    this.files.set(`${name}.${tier}`, file);
    this.log.debug({ profile: name, tier, instructions: compiled.length, notOnThisArch: compiled.unknown.length }, 'seccomp filter compiled');
  }
}
