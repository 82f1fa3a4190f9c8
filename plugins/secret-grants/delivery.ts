import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  SecretProviderPoint,
  Tokens,
  inject,
  injectable,
  type LoadedFunction,
  type SandboxAdditions,
  type SandboxCustomizer,
  type SecretProvider,
  type SecretRequest,
} from '../../core';
import { AuditLog } from './audit-log';
import type { SecretGrantsConfig } from './config';
import { EgressProxy } from './egress-proxy';
import { LiveSandboxes, type LiveSandbox } from './live-sandboxes';
import { Policy } from './policy';
import { RunDir } from './run-dir';

export const EGRESS_SOCKET = 'egress.sock';
export const SECRETS_SUBDIR = 'secrets';

/**
 * Gives each new sandbox what its ol.yaml asks for and its role grants:
 * an egress socket (proxy mode), environment variables (env) or read-only
 * files on a tmpfs (file), all in one directory mounted at `mount` in that
 * sandbox only. A sandbox that asks for nothing gets nothing.
 */
@injectable()
export class SecretDelivery implements SandboxCustomizer {
  constructor(
    @inject(Tokens.PluginConfig) private readonly config: SecretGrantsConfig,
    @inject(Policy) private readonly policy: Policy,
    @inject(RunDir) private readonly runDir: RunDir,
    @inject(LiveSandboxes) private readonly live: LiveSandboxes,
    @inject(EgressProxy) private readonly proxy: EgressProxy,
    @inject(AuditLog) private readonly audit: AuditLog,
    @inject(SecretProviderPoint.token) private readonly secrets: SecretProvider,
  ) {}

  async prepare(fn: LoadedFunction, sandboxId: string): Promise<SandboxAdditions> {
    const asked = fn.config.secrets ?? [];
    if (!asked.length) return {};
    // The loader already refused such a function; checked again because this is where values flow.
    const problems = this.policy.problems(fn);
    if (problems.length) throw new Error(`function ${fn.name}: ${problems.join('; ')}`);
    const sb = this.live.add(sandboxId, fn);
    const dir = this.runDir.sandboxDir(sandboxId);
    const add: SandboxAdditions = { mounts: [{ source: dir, target: this.config.mount }], env: {} };
    if (asked.some((r) => r.mode === 'proxy')) {
      await this.proxy.listen(sb, path.join(dir, EGRESS_SOCKET));
      add.env!.OL_EGRESS_SOCKET = path.posix.join(this.config.mount, EGRESS_SOCKET);
    }
    const held = asked.filter((r, i) => r.mode !== 'proxy' && asked.findIndex((o) => o.name === r.name && o.mode === r.mode && o.env === r.env) === i);
    for (const req of held) {
      const value = await this.valueFor(sb, req);
      if (req.mode === 'env') add.env![req.env!] = envValue(fn, req, value);
      else writeSecretFile(dir, req.name, value);
    }
    return add;
  }

  async release(sandboxId: string): Promise<void> {
    if (!this.live.get(sandboxId)) return;
    this.live.remove(sandboxId);
    await this.proxy.close(sandboxId);
    this.runDir.removeSandboxDir(sandboxId);
  }

  serving(sandboxId: string, requestId: string | null): void {
    const sb = this.live.get(sandboxId);
    if (sb) sb.requestId = requestId;
  }

  /** The value for an env/file delivery; remembered (as a digest) so rotation can retire this instance. */
  private async valueFor(sb: LiveSandbox, req: SecretRequest): Promise<Buffer> {
    const value = await this.secrets.get(req.name);
    const base = { function: sb.fn.name, owner: sb.fn.config.owner, sandbox: sb.id, request_id: null, secret: req.name, mode: req.mode, destination: null };
    if (!value) {
      this.audit.record({ ...base, decision: 'denied', reason: 'secret-unavailable' });
      throw Object.assign(new Error(`secret "${req.name}" that function ${sb.fn.name} gets as ${req.mode} is not stored in any secret provider; ask the operator to store it (ol secret put ${req.name})`), { status: 503 });
    }
    sb.held.set(req.name, this.live.digest(value));
    this.audit.record({ ...base, decision: 'allowed' });
    return value;
  }
}

/** A process environment holds text without NUL bytes; anything else belongs in file mode. */
function envValue(fn: LoadedFunction, req: SecretRequest, value: Buffer): string {
  const text = value.toString('utf8');
  if (text.includes('\0') || !Buffer.from(text, 'utf8').equals(value)) {
    throw new Error(`secret "${req.name}" cannot be delivered to function ${fn.name} in an environment variable (it is binary or contains a NUL byte); ask for it with mode file`);
  }
  return text;
}

/** Readable by the sandbox's unprivileged user; the directory is visible in that sandbox only. */
function writeSecretFile(dir: string, name: string, value: Buffer): void {
  const sub = path.join(dir, SECRETS_SUBDIR);
  fs.mkdirSync(sub, { recursive: true, mode: 0o755 });
  fs.chmodSync(sub, 0o755);
  const file = path.join(sub, name);
  fs.writeFileSync(file, value, { mode: 0o444, flag: 'wx' });
  fs.chmodSync(file, 0o444);
}
