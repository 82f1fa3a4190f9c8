import { PackageError } from './package-error';
import { eachZipEntry, traversalEntry } from './zip-reader';

/** The core metadata fields the resolver needs (from the wheel's .dist-info/METADATA). */
export interface CoreMetadata {
  name: string;
  version: string;
  requiresDist: string[];
  requiresPython?: string;
  providesExtra: string[];
}

/** Read METADATA from a wheel; the .dist-info directory must be at the top level. */
export async function readWheelMetadata(wheel: Buffer, filename: string): Promise<CoreMetadata> {
  let text: string | undefined;
  try {
    await eachZipEntry(wheel, async (e) => {
      if (text === undefined && /^[^/]+\.dist-info\/METADATA$/.test(e.name)) text = (await e.read()).toString('utf8');
    });
  } catch (e) {
    const bad = traversalEntry(e);
    if (bad !== null) throw unsafeWheel(filename, bad);
    throw new PackageError(`${filename} is not a readable wheel: ${(e as Error).message}`, 'the index serves a broken file; ask its maintainer, or pin another version');
  }
  if (text === undefined) throw new PackageError(`${filename} has no .dist-info/METADATA, so it is not a valid wheel`, 'pin another version of the package');
  return parseMetadata(text);
}

/** RFC 822-style headers up to the first blank line; continuation lines are folded. */
export function parseMetadata(text: string): CoreMetadata {
  const headers: [string, string][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if (/^[ \t]/.test(line) && headers.length) headers[headers.length - 1][1] += ' ' + line.trim();
    else {
      const i = line.indexOf(':');
      if (i > 0) headers.push([line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()]);
    }
  }
  const all = (k: string) => headers.filter(([h]) => h === k).map(([, v]) => v);
  return {
    name: all('name')[0] ?? '',
    version: all('version')[0] ?? '',
    requiresDist: all('requires-dist'),
    requiresPython: all('requires-python')[0],
    providesExtra: all('provides-extra'),
  };
}

export function unsafeWheel(filename: string, entry: string): PackageError {
  return new PackageError(`refusing to install ${filename}: entry "${entry}" points outside the package directory`, 'this wheel could write outside its directory; do not use it (pin another version)');
}
