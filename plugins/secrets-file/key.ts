import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';

export const KEY_BYTES = 32;

/**
 * Where the store's AES-256 key comes from: an environment variable (best:
 * the key never touches the disk), else a key file. Accepted encodings: 64 hex
 * digits, base64 of 32 bytes, or the 32 raw bytes.
 */
export class KeySource {
  constructor(private readonly envName: string, private readonly file: string, private readonly generate: boolean) {}

  /** The key, or null when none exists yet (nothing was ever stored). */
  load(): Buffer | null {
    const fromEnv = process.env[this.envName];
    if (fromEnv) return decodeKey(Buffer.from(fromEnv), `the environment variable ${this.envName}`);
    let raw: Buffer;
    try {
      raw = fs.readFileSync(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new Error(`cannot read the secrets key file ${this.file}: ${(e as Error).message}`);
    }
    return decodeKey(raw, `the key file ${this.file}`);
  }

  /** The key for a write: loaded, or created (0600, never overwriting) when allowed. */
  loadOrCreate(): { key: Buffer; created: boolean } {
    const key = this.load();
    if (key) return { key, created: false };
    if (!this.generate) {
      throw new Error(`no secrets key: set the environment variable ${this.envName} or create ${this.file} (32 random bytes, e.g. \`head -c 32 /dev/urandom > ${this.file}\`), or set secrets-file.generate_key`);
    }
    const fresh = randomBytes(KEY_BYTES);
    fs.writeFileSync(this.file, fresh.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
    return { key: fresh, created: true };
  }
}

function decodeKey(raw: Buffer, where: string): Buffer {
  if (raw.length === KEY_BYTES) return raw;
  const text = raw.toString('latin1').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(text)) {
    const b = Buffer.from(text, 'base64');
    if (b.length === KEY_BYTES) return b;
  }
  // Never echo the content: it is key material, even when malformed.
  throw new Error(`${where} does not hold a 256-bit key (expected 64 hex digits, base64 of 32 bytes, or 32 raw bytes; found ${raw.length} bytes)`);
}
