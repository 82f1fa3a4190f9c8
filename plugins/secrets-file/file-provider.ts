import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokens, checkSecretName, inject, injectable, type Logger, type SecretProvider, type WorkerPaths } from '../../core';
import { writeFileAtomic } from './atomic-write';
import type { SecretsFileConfig } from './config';
import { KeySource } from './key';
import { emptyDocument, open, parseDocument, seal, type StoreDocument } from './sealed-store';

/**
 * Secrets in one encrypted file (AES-256-GCM per value, see sealed-store.ts).
 * Values exist in clear only in this process's memory, for the moment a
 * caller needs them. The file is re-read when it changes on disk, so an edit
 * by another process (or a restored backup) is seen by the next read.
 */
@injectable()
export class FileSecretProvider implements SecretProvider {
  readonly writable = true;
  readonly file: string;
  private readonly keys: KeySource;
  private cached?: { doc: StoreDocument; stamp: string };
  /** Writes are serialised so two puts never lose one another. */
  private writing: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<() => void>();

  constructor(
    @inject(Tokens.PluginConfig) config: SecretsFileConfig,
    @inject(Tokens.WorkerPaths) paths: WorkerPaths,
    @inject(Tokens.Logger) private readonly log: Logger,
  ) {
    this.file = config.file ?? path.join(paths.root, 'secrets.enc');
    this.keys = new KeySource(config.key_env, config.key_file ?? path.join(paths.root, 'secrets.key'), config.generate_key);
  }

  async get(name: string): Promise<Buffer | null> {
    checkSecretName(name);
    const entry = this.read().entries[name];
    if (!entry) return null;
    const key = this.keys.load();
    if (!key) throw new Error(`secret "${name}" is stored in ${this.file} but no key is available; set secrets-file.key_env or key_file`);
    return open(key, name, entry, this.file);
  }

  async list(): Promise<string[]> {
    return Object.keys(this.read().entries).sort();
  }

  async put(name: string, value: Buffer): Promise<void> {
    checkSecretName(name);
    return this.serialised(async () => {
      const { key, created } = this.keys.loadOrCreate();
      if (created) this.log.warn('generated a new secrets key beside the store; for encryption at rest, keep the key elsewhere (secrets-file.key_env or key_file)');
      const doc = this.read();
      doc.entries[name] = seal(key, name, value);
      await this.write(doc);
      this.log.info({ secret: name }, 'secret stored');
    });
  }

  async remove(name: string): Promise<boolean> {
    checkSecretName(name);
    return this.serialised(async () => {
      const doc = this.read();
      if (!doc.entries[name]) return false;
      delete doc.entries[name];
      await this.write(doc);
      this.log.info({ secret: name }, 'secret removed');
      return true;
    });
  }

  watch(onChange: () => void): () => void {
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }

  /** The document as on disk now (parsed again only when the file changed). */
  private read(): StoreDocument {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyDocument();
      throw e;
    }
    const stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    if (this.cached?.stamp !== stamp) this.cached = { doc: parseDocument(fs.readFileSync(this.file, 'utf8'), this.file), stamp };
    return structuredClone(this.cached.doc);
  }

  private async write(doc: StoreDocument): Promise<void> {
    await writeFileAtomic(this.file, JSON.stringify(doc, null, 1) + '\n', 0o600);
    this.cached = undefined;
    for (const l of this.listeners) l();
  }

  private serialised<T>(op: () => Promise<T>): Promise<T> {
    const next = this.writing.then(op, op);
    this.writing = next.catch(() => undefined);
    return next;
  }
}
