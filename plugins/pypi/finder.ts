import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { explain, rcompare, satisfies } from '@renovatebot/pep440';
import { parseFilename, tagRank, type DistFile } from './dist-file';
import { PackageError } from './package-error';
import type { PythonTarget } from './python-target';
import { httpGet, SimpleIndex } from './simple-index';
import type { BuiltWheel } from './build-cache';
import type { SdistToBuild } from './sdist-builder';
import { readWheelMetadata, type CoreMetadata } from './wheel-metadata';

/** The file chosen for one version of a project: its best-fitting wheel, else its sdist (as pip prefers). */
export interface Candidate {
  name: string;
  version: string;
  file: DistFile;
  kind: 'wheel' | 'sdist';
  yanked: boolean;
  prerelease: boolean;
}

/** Every version of a project the sources offer, split by whether a wheel fits the sandbox. */
export interface ProjectFiles {
  candidates: Candidate[];
  /** Versions that have only sdists or wheels for other platforms (named in "no wheel" messages). */
  unusable: { version: string; why: string }[];
}

export interface FinderOptions {
  indexes: SimpleIndex[];
  wheelDir?: string;
  timeoutMs: number;
  /** Installed metadata, so a warm resolution downloads nothing but index pages. */
  installedMetadata?: (name: string, version: string) => Promise<CoreMetadata | null>;
  /** Builds a wheel from an sdist (in a sandbox); without it, versions with only an sdist are unusable. */
  build?: (sdist: SdistToBuild) => Promise<BuiltWheel>;
}

/**
 * Finds a project's files across the configured indexes and wheel dir, picks
 * the best wheel per version for the target, and fetches files and metadata
 * (each once per Finder: one Finder serves one resolution).
 */
export class Finder {
  private readonly projects = new Map<string, Promise<ProjectFiles>>();
  private readonly downloads = new Map<string, Promise<Buffer>>();
  private readonly metadata = new Map<string, Promise<CoreMetadata>>();
  private readonly tagRanks: Map<string, number>;

  constructor(
    private readonly opts: FinderOptions,
    private readonly target: PythonTarget,
  ) {
    this.tagRanks = new Map(target.tags.map((t, i) => [t, i]));
  }

  project(name: string): Promise<ProjectFiles> {
    let p = this.projects.get(name);
    if (!p) {
      p = this.loadProject(name);
      this.projects.set(name, p);
    }
    return p;
  }

  /** The file's bytes, checked against the index's sha256 (and `expectSha256`, e.g. from ol.lock). */
  download(file: DistFile, expectSha256?: string): Promise<Buffer> {
    const key = file.url;
    let p = this.downloads.get(key);
    if (!p) {
      p = this.fetch(file);
      this.downloads.set(key, p);
    }
    return p.then((data) => {
      const actual = sha256(data);
      if (expectSha256 && actual !== expectSha256) {
        throw new PackageError(
          `hash mismatch for ${file.filename}: ol.lock expects sha256 ${expectSha256}, the index served ${actual}`,
          'the file changed since the lock was made; if you trust the new file, re-run `ol pkg lock <function dir>` and upload the function again',
        );
      }
      return data;
    });
  }

  /**
   * The wheel to install for a candidate: the downloaded wheel, or the one
   * built from its sdist. `expectSha256` (from ol.lock) is checked against the
   * downloaded file, the sdist for a built one.
   */
  async wheel(c: Candidate, expectSha256?: string): Promise<BuiltWheel> {
    const data = await this.download(c.file, expectSha256);
    if (c.kind === 'wheel') return { filename: c.file.filename, data };
    if (!this.opts.build) throw new PackageError(`${c.name} ${c.version} has only an sdist, and this resolution cannot build one`, 'pin a version that publishes a wheel');
    return this.opts.build({ name: c.name, version: c.version, filename: c.file.filename, data, sha256: sha256(data) });
  }

  async metadataOf(c: Candidate): Promise<CoreMetadata> {
    const key = `${c.name}==${c.version}`;
    let p = this.metadata.get(key);
    if (!p) {
      p = (async () => {
        const installed = await this.opts.installedMetadata?.(c.name, c.version);
        if (installed) return installed;
        // An sdist's dependencies are known only once it is built (the wheel is cached for the install).
        const w = await this.wheel(c);
        return readWheelMetadata(w.data, w.filename);
      })();
      this.metadata.set(key, p);
    }
    return p;
  }

  private async loadProject(name: string): Promise<ProjectFiles> {
    const lists = await Promise.all([...this.opts.indexes.map((ix) => ix.files(name)), this.wheelDirFiles(name)]);
    const best = new Map<string, { file: DistFile; rank: number }>();
    const sdists = new Map<string, DistFile>();
    const why = new Map<string, string>();
    for (const file of lists.flat()) {
      const parsed = parseFilename(file.filename);
      if (!parsed || parsed.name !== name) continue;
      if (file.requiresPython && !satisfies(this.target.pythonVersion, file.requiresPython, { prereleases: true })) {
        why.set(parsed.version, `needs Python ${file.requiresPython}, the sandbox has ${this.target.pythonVersion}`);
        continue;
      }
      if (parsed.kind === 'sdist') {
        if (!this.opts.build) why.set(parsed.version, why.get(parsed.version) ?? 'only an sdist is published, and build requirements must be wheels');
        else if (!/\.(tar\.gz|tgz|zip)$/i.test(file.filename)) why.set(parsed.version, why.get(parsed.version) ?? `its sdist ${file.filename} is in a format that cannot be built (only .tar.gz and .zip)`);
        else if (!sdists.has(parsed.version) || file.filename.endsWith('.tar.gz')) sdists.set(parsed.version, file);
        continue;
      }
      const rank = tagRank(parsed.tags, this.tagRanks);
      if (rank < 0) {
        why.set(parsed.version, `its wheels are built for other platforms (${parsed.tags[0]}), the sandbox needs ${this.target.tags[0]} or a pure-Python wheel`);
        continue;
      }
      const seen = best.get(parsed.version);
      if (!seen || rank < seen.rank) best.set(parsed.version, { file, rank });
    }
    const chosen = new Map<string, Pick<Candidate, 'file' | 'kind'>>([...sdists].map(([v, file]) => [v, { file, kind: 'sdist' }]));
    for (const [v, { file }] of best) chosen.set(v, { file, kind: 'wheel' });
    const candidates = [...chosen.entries()]
      .map(([version, { file, kind }]) => ({ name, version, file, kind, yanked: !!file.yanked, prerelease: isPrerelease(version) }))
      .sort((a, b) => rcompare(a.version, b.version));
    const unusable = [...why.entries()].filter(([v]) => !chosen.has(v)).map(([version, w]) => ({ version, why: w }));
    return { candidates, unusable };
  }

  private async wheelDirFiles(name: string): Promise<DistFile[]> {
    if (!this.opts.wheelDir) return [];
    let entries: string[];
    try {
      entries = await fs.readdir(this.opts.wheelDir);
    } catch (e) {
      throw new PackageError(`cannot read pypi.wheel_dir ${this.opts.wheelDir}: ${(e as Error).message}`, 'create the directory or fix pypi.wheel_dir', 503);
    }
    return entries
      .filter((f) => parseFilename(f)?.name === name)
      .map((f) => ({ filename: f, url: pathToFileURL(path.join(this.opts.wheelDir!, f)).href }));
  }

  private async fetch(file: DistFile): Promise<Buffer> {
    let data: Buffer;
    if (file.url.startsWith('file:')) data = await fs.readFile(fileURLToPath(file.url));
    else {
      const res = await httpGet(file.url, this.opts.timeoutMs);
      if (res.status !== 200) throw new PackageError(`downloading ${file.filename} from ${file.url} failed with HTTP ${res.status}`, 'check that the index is healthy and retry', 503);
      data = res.body;
    }
    if (file.sha256 && sha256(data) !== file.sha256.toLowerCase()) {
      throw new PackageError(`hash mismatch for ${file.filename}: the index lists sha256 ${file.sha256}, the download has ${sha256(data)}`, 'the file was corrupted or tampered with in transit; retry, and tell the index operator if it persists', 503);
    }
    return data;
  }
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function isPrerelease(version: string): boolean {
  const v = explain(version);
  return !!v && (v.is_prerelease || v.is_devrelease);
}
