import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** The on-disk document: names and timestamps in clear, each value sealed on its own. */
export interface StoreDocument {
  format: typeof FORMAT;
  entries: Record<string, SealedEntry>;
}

export interface SealedEntry {
  iv: string;
  tag: string;
  data: string;
  updated: string;
}

const FORMAT = 'ol-secrets/1 aes-256-gcm';
const IV_BYTES = 12;

export function emptyDocument(): StoreDocument {
  return { format: FORMAT, entries: {} };
}

/**
 * AES-256-GCM with a fresh random IV per value. The secret's name is the
 * additional authenticated data, so an entry moved to another name (or
 * altered) fails to open instead of delivering the wrong credential.
 */
export function seal(key: Buffer, name: string, value: Buffer): SealedEntry {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(name));
  const data = Buffer.concat([cipher.update(value), cipher.final()]);
  return { iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64'), updated: new Date().toISOString() };
}

export function open(key: Buffer, name: string, entry: SealedEntry, file: string): Buffer {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(entry.iv, 'base64'));
    decipher.setAAD(aad(name));
    decipher.setAuthTag(Buffer.from(entry.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(entry.data, 'base64')), decipher.final()]);
  } catch {
    throw new Error(`cannot decrypt secret "${name}" in ${file}: the key is not the one it was stored with, or the file was altered; use the right key (secrets-file.key_env / key_file) or store the secret again`);
  }
}

export function parseDocument(text: string, file: string): StoreDocument {
  let doc: any;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not a secrets store (not JSON); move it away or point secrets-file.file elsewhere`);
  }
  if (doc?.format !== FORMAT || typeof doc.entries !== 'object' || doc.entries === null) {
    throw new Error(`${file} is not a secrets store of format "${FORMAT}"; move it away or point secrets-file.file elsewhere`);
  }
  return doc as StoreDocument;
}

function aad(name: string): Buffer {
  return Buffer.from(`${FORMAT}:${name}`);
}
