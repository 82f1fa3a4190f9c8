import { valid } from '@renovatebot/pep440';
import { normalizeName } from './requirement';

/** One downloadable file of a project, as an index lists it. */
export interface DistFile {
  filename: string;
  url: string;
  /** Hex sha256 from the index (the URL fragment or PEP 691 hashes), if given. */
  sha256?: string;
  requiresPython?: string;
  /** PEP 592: the reason, or true, when the file is yanked. */
  yanked?: string | boolean;
}

export interface ParsedFilename {
  kind: 'wheel' | 'sdist';
  name: string;
  version: string;
  /** For wheels: every "py-abi-plat" tag the file claims (compressed tag sets expanded). */
  tags: string[];
}

/** Name, version and tags from a wheel or sdist filename; null for anything else (eggs, exe...). */
export function parseFilename(filename: string): ParsedFilename | null {
  if (filename.endsWith('.whl')) {
    const parts = filename.slice(0, -4).split('-');
    if (parts.length !== 5 && parts.length !== 6) return null;
    const [name, version] = parts;
    const [py, abi, plat] = parts.slice(-3);
    if (!valid(version)) return null;
    const tags = py.split('.').flatMap((p) => abi.split('.').flatMap((a) => plat.split('.').map((x) => `${p}-${a}-${x}`)));
    return { kind: 'wheel', name: normalizeName(name), version, tags };
  }
  const m = /^(.+)-([^-]+)\.(tar\.gz|zip|tar\.bz2|tgz)$/.exec(filename);
  if (!m || !valid(m[2])) return null;
  return { kind: 'sdist', name: normalizeName(m[1]), version: m[2], tags: [] };
}

/** Rank of a wheel for the target (lower is better), or -1 when none of its tags fit. */
export function tagRank(tags: string[], targetTags: Map<string, number>): number {
  let best = -1;
  for (const t of tags) {
    const r = targetTags.get(t);
    if (r !== undefined && (best < 0 || r < best)) best = r;
  }
  return best;
}
