import * as path from 'node:path';
import type { LoadedFunction, SandboxAdditions } from '../../core';
import { BASE_ROOT_ENTRIES, type SockConfig } from './config';
import { CAPTURE_DIR } from './output-capture';
import { RUNTIME_MOUNT, RUNTIME_SCRIPT } from './runtime-location';

/** The status fd number in the launcher and the program (stdio index 3 of the spawn). */
export const STATUS_FD = 3;
/** The fd the launcher reads the customizers' variables from (stdio index 4 of the spawn), see launcherEnvInput. */
export const ENV_FD = 4;

/** Inside the sandbox: the scratch dir, the runtime's socket in it, and the code. */
export const SCRATCH_MOUNT = '/host';
export const SOCKET_NAME = 'ol.sock';
export const CODE_MOUNT = '/handler';

const BASE_ENV: Record<string, string> = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: SCRATCH_MOUNT,
  LANG: 'C.UTF-8',
};

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface LaunchPlan {
  fn: LoadedFunction;
  /** Host dirs of this sandbox. */
  rootDir: string;
  scratchDir: string;
  runtimeDir: string;
  cgroupProcsFiles: string[];
  config: SockConfig;
  /** What SandboxCustomizer plugins add (mounts, env, sys.path, seccomp filter, network namespace). */
  additions?: SandboxAdditions;
  /** Zygotes (zygote-sandbox.ts): run this instead of the runtime (`--path` arguments still follow). */
  program?: string[];
  /** Zygotes: keep root and its capabilities (ol-launcher --keep-caps, no --uid/--gid). */
  keepCaps?: boolean;
  /** Zygote forks: no program; the sandbox waits for the forked process's exit status on this FIFO (ol-launcher --hold). */
  hold?: string;
  /** Zygote leaves: the program (a holder) does not get the customizers' variables; the forked runtime does. */
  withoutCustomizerEnv?: boolean;
}

/** The ol-launcher argv (see native/README.md) for one sandbox running the Python runtime. */
export function launcherArgs(plan: LaunchPlan): string[] {
  const { fn, config } = plan;
  const add = plan.additions ?? {};
  return [
    '--die-with-parent',
    '--status-fd', String(STATUS_FD),
    ...plan.cgroupProcsFiles.flatMap((f) => ['--cgroup-procs', f]),
    '--root', plan.rootDir,
    ...baseBinds(config),
    '--ro-bind', plan.runtimeDir, RUNTIME_MOUNT,
    '--ro-bind', fn.codeDir, CODE_MOUNT,
    '--bind', plan.scratchDir, SCRATCH_MOUNT,
    ...(add.mounts ?? []).flatMap((m) => [m.writable ? '--bind' : '--ro-bind', m.source, m.target]),
    '--tmpfs', '/tmp', String(config.tmp_mb * 1024 * 1024),
    '--proc', '/proc',
    '--dev', '/dev',
    '--hostname', config.hostname,
    ...networkArgs(config, add.netns),
    // The function's own variables (ol.yaml, as public as its code) on the command line; the customizers' (secrets among them) on --env-fd.
    ...Object.entries(sandboxEnv(fn)).filter(([k]) => !(k in customizerEnv(plan))).flatMap(([k, v]) => ['--setenv', k, v]),
    ...(launcherEnvInput(plan) ? ['--env-fd', String(ENV_FD)] : []),
    ...(add.seccompFilter ? ['--seccomp', add.seccompFilter] : []),
    ...Object.entries(config.rlimits ?? {}).flatMap(([name, [soft, hard]]) => ['--rlimit', name, String(soft), String(hard)]),
    ...(plan.keepCaps ? ['--keep-caps'] : ['--uid', String(config.uid), '--gid', String(config.gid)]),
    '--chdir', SCRATCH_MOUNT,
    ...(plan.hold ? ['--hold', plan.hold] : ['--', ...(plan.program ?? runtimeCommand(fn, config.python)), ...(add.pythonPaths ?? []).flatMap((p) => ['--path', p])]),
  ];
}

/**
 * What the launcher reads on --env-fd (NAME=VALUE entries, each ended by a
 * NUL byte), or undefined when no customizer added a variable. A value on
 * the command line would be in /proc/<launcher pid>/cmdline, readable by
 * every user of the host while the instance runs.
 */
export function launcherEnvInput(plan: LaunchPlan): Buffer | undefined {
  const env = customizerEnv(plan);
  return Object.keys(env).length ? envEntries(env) : undefined;
}

/** NUL-terminated NAME=VALUE entries; errors name the variable, never its value. */
export function envEntries(env: Record<string, string>): Buffer {
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name)) throw new Error(`a sandbox customizer plugin set the environment variable name ${JSON.stringify(name)}, which is invalid; fix that plugin`);
    if (value.includes('\0')) throw new Error(`the value a sandbox customizer plugin set for environment variable ${name} contains a NUL byte, which no process environment can hold; fix that plugin`);
  }
  return Buffer.from(Object.entries(env).map(([k, v]) => `${k}=${v}\0`).join(''));
}

function customizerEnv(plan: LaunchPlan): Record<string, string> {
  return plan.withoutCustomizerEnv ? {} : (plan.additions?.env ?? {});
}

/** A customizer's shared network namespace wins over the per-sandbox one of `network: none`. */
function networkArgs(config: SockConfig, netns?: string): string[] {
  if (netns) return ['--netns', netns];
  return config.network === 'none' ? ['--unshare-net'] : [];
}

function baseBinds(config: SockConfig): string[] {
  if (config.base_root) {
    return BASE_ROOT_ENTRIES.flatMap((e) => ['--ro-bind-try', path.join(config.base_root!, e), `/${e}`]);
  }
  return config.base_binds.flatMap((p) => ['--ro-bind-try', p, p]);
}

/** The instance's environment: a fixed base, then the function's own variables (ol.yaml `environment`). */
export function sandboxEnv(fn: LoadedFunction): Record<string, string> {
  const env = { ...BASE_ENV };
  for (const [name, value] of Object.entries(fn.config.environment ?? {})) {
    if (!ENV_NAME.test(name)) {
      throw new Error(`function ${fn.name}: environment variable name ${JSON.stringify(name)} is invalid; use letters, digits and _ (not starting with a digit) in ol.yaml environment`);
    }
    if (String(value).includes('\0')) {
      throw new Error(`function ${fn.name}: environment variable ${name} contains a NUL byte, which no process environment can hold; remove it from ol.yaml environment`);
    }
    env[name] = String(value);
  }
  return env;
}

function runtimeCommand(fn: LoadedFunction, python: string): string[] {
  return [
    python, '-u', '-B', path.posix.join(RUNTIME_MOUNT, RUNTIME_SCRIPT),
    '--socket', path.posix.join(SCRATCH_MOUNT, SOCKET_NAME),
    '--code', CODE_MOUNT,
    '--entry', fn.config.entry,
    '--handler', fn.config.handler,
    '--status-fd', String(STATUS_FD),
    '--capture-dir', path.posix.join(SCRATCH_MOUNT, CAPTURE_DIR),
  ];
}
