import { createHmac, randomBytes } from 'node:crypto';
import { injectable, type LoadedFunction } from '../../core';

/** What the worker knows about one sandbox that asked for secrets. */
export interface LiveSandbox {
  id: string;
  fn: LoadedFunction;
  /** The request it is serving now (SandboxCustomizer.serving), for the audit log. */
  requestId: string | null;
  /** Secrets it holds (env/file delivery): name -> keyed digest of the value it got. */
  held: Map<string, string>;
}

/**
 * The sandboxes this plugin prepared, by id: who is calling on an egress
 * socket, and which instances hold a copy of which secret (to retire them on
 * rotation). Values are kept only as HMACs under a key that lives and dies
 * with this process, so the table reveals nothing about them.
 */
@injectable()
export class LiveSandboxes {
  private readonly byId = new Map<string, LiveSandbox>();
  private readonly digestKey = randomBytes(32);

  add(id: string, fn: LoadedFunction): LiveSandbox {
    const sb: LiveSandbox = { id, fn, requestId: null, held: new Map() };
    this.byId.set(id, sb);
    return sb;
  }

  get(id: string): LiveSandbox | undefined {
    return this.byId.get(id);
  }

  remove(id: string): void {
    this.byId.delete(id);
  }

  /** Sandboxes holding a copy of some secret. */
  holders(): LiveSandbox[] {
    return [...this.byId.values()].filter((s) => s.held.size > 0);
  }

  digest(value: Buffer | null): string {
    return value ? createHmac('sha256', this.digestKey).update(value).digest('hex') : 'absent';
  }
}
