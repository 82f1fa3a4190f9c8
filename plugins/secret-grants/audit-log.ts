import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokens, inject, injectable, type Logger, type WorkerPaths } from '../../core';
import type { SecretGrantsConfig } from './config';

/** One use of a secret, or one refusal. Never holds the value. */
export interface AuditRecord {
  time: string;
  function: string;
  owner: string;
  sandbox: string;
  /** The request the sandbox was serving (null: at instance start, or between requests). */
  request_id: string | null;
  secret: string;
  mode: 'proxy' | 'env' | 'file';
  /** proxy: scheme://host:port/path of the upstream (never the query, which may carry the credential). */
  destination: string | null;
  method?: string;
  decision: 'allowed' | 'denied';
  reason?: string;
  /** proxy: the upstream's status, when it answered. */
  status?: number;
}

const KEEP_IN_MEMORY = 1000;

/**
 * Every use of a secret, appended as a JSON line to the audit file (0600),
 * and the latest ones kept in memory for `GET /secret-audit`.
 */
@injectable()
export class AuditLog {
  readonly file: string;
  private stream?: fs.WriteStream;
  private readonly recent: AuditRecord[] = [];

  constructor(
    @inject(Tokens.PluginConfig) config: SecretGrantsConfig,
    @inject(Tokens.WorkerPaths) paths: WorkerPaths,
    @inject(Tokens.Logger) private readonly log: Logger,
  ) {
    this.file = config.audit_log ?? path.join(paths.root, 'secrets-audit.log');
  }

  record(r: Omit<AuditRecord, 'time'>): void {
    const rec: AuditRecord = { time: new Date().toISOString(), ...r };
    this.recent.push(rec);
    if (this.recent.length > KEEP_IN_MEMORY) this.recent.shift();
    this.open().write(JSON.stringify(rec) + '\n');
  }

  latest(filter: { function?: string; secret?: string; limit: number }): AuditRecord[] {
    return this.recent
      .filter((r) => (!filter.function || r.function === filter.function) && (!filter.secret || r.secret === filter.secret))
      .slice(-filter.limit);
  }

  async close(): Promise<void> {
    const s = this.stream;
    this.stream = undefined;
    if (s) await new Promise<void>((resolve) => s.end(resolve));
  }

  /** Opened on the first record, so a worker that never uses secrets writes nothing. */
  private open(): fs.WriteStream {
    if (!this.stream) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      this.stream = fs.createWriteStream(this.file, { flags: 'a', mode: 0o600 });
      this.stream.on('error', (e) => this.log.error({ file: this.file, err: e.message }, 'cannot write the secrets audit log'));
    }
    return this.stream;
  }
}
