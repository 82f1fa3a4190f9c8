import * as path from 'node:path';
import pino from 'pino';
import { DEFAULT_CONFIG_FILE } from '../../core/config/load-config';
import { SandboxBackendPoint, type SandboxBackend } from '../../core/extension-points/sandbox-backend';
import { Tokens } from '../../core/di/tokens';
import type { FunctionLoader } from '../../core/functions/function-loader';
import { Worker } from '../../core/lifecycle/worker';
import { EXAMPLES, type BenchContext } from './context';

export interface Kernel {
  worker: Worker;
  /** Its log (warnings and up), e.g. the cgroup drivers' slow-operation reports. */
  logFile: string;
  backend: SandboxBackend;
  loader: FunctionLoader;
}

/** A variant of the in-process worker: its own name (one per suite), config file and `-o` overrides. */
export interface KernelVariant {
  key: string;
  configFile?: string;
  overrides?: string[];
}

/**
 * A worker booted inside the bench process, for suites that drive the
 * SandboxBackend directly (create/destroy without HTTP or scheduling in the
 * way). Started once per suite (per variant), stopped at its end.
 */
export function sharedKernel(ctx: BenchContext, variant: KernelVariant = { key: 'kernel' }): Promise<Kernel> {
  return ctx.shared(variant.key, async () => {
    const logFile = path.join(ctx.tmpDir, `${variant.key}.log`);
    const worker = await Worker.start({
      dir: path.join(ctx.tmpDir, variant.key),
      configFile: variant.configFile ?? DEFAULT_CONFIG_FILE,
      overrides: ['http.port=0', `registry-dir.dirs=[${EXAMPLES}]`, ...(variant.overrides ?? [])],
      logger: pino({ level: 'warn' }, pino.destination({ dest: logFile, sync: true })),
    });
    ctx.onCleanup(() => worker.stop());
    return {
      worker,
      logFile,
      backend: worker.container.resolve<SandboxBackend>(SandboxBackendPoint.token),
      loader: worker.container.resolve<FunctionLoader>(Tokens.FunctionLoader),
    };
  });
}
