import { createHash } from 'node:crypto';
import { PackageError } from './package-error';

/** One line of a wheel's RECORD: the file's hash (algorithm, urlsafe-base64 digest) and size. */
export interface RecordLine {
  algorithm?: string;
  digest?: string;
  size?: number;
}

/** Hashes a RECORD may use: sha256 or stronger (the wheel spec forbids md5 and sha1). */
const STRONG = new Set(['sha256', 'sha384', 'sha512', 'sha3_256', 'sha3_384', 'sha3_512', 'blake2b', 'blake2s']);
const NODE_NAME: Record<string, string> = { sha3_256: 'sha3-256', sha3_384: 'sha3-384', sha3_512: 'sha3-512', blake2b: 'blake2b512', blake2s: 'blake2s256' };

/** The RECORD entry of a wheel: `<name>-<version>.dist-info/RECORD` at the top level. */
export const RECORD_ENTRY = /^[^/]+\.dist-info\/RECORD$/;

/**
 * The checks of the wheel spec ("the installer should fail if any file in
 * the archive is not mentioned and hashed in RECORD"): every file of the
 * archive must be listed with a matching hash and size, except RECORD itself
 * and its signatures (RECORD.jws, RECORD.p7s).
 */
export class WheelRecord {
  private constructor(
    private readonly filename: string,
    private readonly recordPath: string,
    private readonly lines: Map<string, RecordLine>,
  ) {}

  static parse(text: string, recordPath: string, filename: string): WheelRecord {
    const lines = new Map<string, RecordLine>();
    for (const row of text.split(/\r?\n/)) {
      if (!row.trim()) continue;
      const [file, hash = '', size = ''] = parseCsvRow(row);
      const eq = hash.indexOf('=');
      lines.set(file, {
        algorithm: eq > 0 ? hash.slice(0, eq).toLowerCase() : undefined,
        digest: eq > 0 ? hash.slice(eq + 1) : undefined,
        size: size === '' ? undefined : Number(size),
      });
    }
    return new WheelRecord(filename, recordPath, lines);
  }

  /** Throws unless `data` is what RECORD says the archive entry `name` holds. */
  verify(name: string, data: Buffer): void {
    const dir = this.recordPath.slice(0, -'RECORD'.length);
    if (name === this.recordPath || name === `${dir}RECORD.jws` || name === `${dir}RECORD.p7s`) return;
    const line = this.lines.get(name);
    if (!line?.algorithm || !line.digest) throw this.reject(`"${name}" is not listed with a hash in ${this.recordPath}`);
    if (!STRONG.has(line.algorithm)) throw this.reject(`${this.recordPath} hashes "${name}" with ${line.algorithm}, which the wheel spec does not allow (sha256 or stronger)`);
    const actual = createHash(NODE_NAME[line.algorithm] ?? line.algorithm).update(data).digest('base64url');
    if (actual !== line.digest.replace(/=+$/, '')) throw this.reject(`"${name}" does not match its ${line.algorithm} hash in ${this.recordPath} (the file was changed after the wheel was built)`);
    if (line.size !== undefined && line.size !== data.length) throw this.reject(`"${name}" is ${data.length} bytes but ${this.recordPath} says ${line.size}`);
  }

  private reject(why: string): PackageError {
    return new PackageError(`refusing to install ${this.filename}: ${why}`, 'the wheel was tampered with or built wrongly; do not use it (pin another version, or ask the package maintainer for a fixed wheel)');
  }
}

/** One CSV row (RECORD uses Python's csv module: quotes around fields with commas or quotes, "" inside). */
function parseCsvRow(row: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= row.length) {
    if (row[i] === '"') {
      let field = '';
      i++;
      while (i < row.length) {
        if (row[i] === '"' && row[i + 1] === '"') (field += '"'), (i += 2);
        else if (row[i] === '"') break;
        else field += row[i++];
      }
      out.push(field);
      i += 2; // closing quote and comma
    } else {
      const comma = row.indexOf(',', i);
      const end = comma < 0 ? row.length : comma;
      out.push(row.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}
