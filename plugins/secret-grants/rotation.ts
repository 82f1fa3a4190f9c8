import type { DependencyContainer } from 'tsyringe';
import { SchedulerPoint, SecretProviderPoint, Tokens, inject, injectable, type Logger, type Scheduler, type SecretProvider } from '../../core';
import { LiveSandboxes } from './live-sandboxes';

/**
 * Rotation for instances that hold a copy (env and file delivery): when a
 * provider reports a change, every instance whose copy differs from the
 * current value is retired, so the next request starts one with the new
 * value. The proxy needs nothing: it reads the value on every request.
 */
@injectable()
export class Rotation {
  private unwatch?: () => void;
  private running: Promise<void> = Promise.resolve();

  constructor(
    @inject(LiveSandboxes) private readonly live: LiveSandboxes,
    @inject(SecretProviderPoint.token) private readonly secrets: SecretProvider,
    @inject(Tokens.Container) private readonly container: DependencyContainer,
    @inject(Tokens.Logger) private readonly log: Logger,
  ) {}

  start(): void {
    this.unwatch = this.secrets.watch?.(() => void this.check());
  }

  stop(): void {
    this.unwatch?.();
  }

  /** Retire the functions whose instances hold a stale copy; resolves when done. Checks run one at a time. */
  check(): Promise<void> {
    this.running = this.running.then(() => this.retireStale()).catch((e) => {
      this.log.error({ err: (e as Error).message }, 'secret rotation check failed');
    });
    return this.running;
  }

  private async retireStale(): Promise<void> {
    const stale = new Set<string>();
    const current = new Map<string, string>();
    for (const sb of this.live.holders()) {
      for (const [name, digest] of sb.held) {
        if (!current.has(name)) current.set(name, this.live.digest(await this.secrets.get(name).catch(() => null)));
        if (current.get(name) !== digest) stale.add(sb.fn.name);
      }
    }
    if (!stale.size) return;
    // Resolved late: the scheduler is built after this plugin (it needs the sandbox backend, which needs us).
    const scheduler = this.container.resolve<Scheduler>(SchedulerPoint.token);
    for (const fn of stale) {
      this.log.info({ fn }, 'a secret this function holds changed: retiring its instances');
      await scheduler.retire(fn);
    }
  }
}
