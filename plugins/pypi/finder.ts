import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { explain, rcompare, satisfies } from '@renovatebot/pep440';
import { parseFilename, tagRank, type DistFile } from './dist-file';
import { PackageError } from './package-error';
import type { PythonTarget } from './python-target';
import { httpGet, SimpleIndex } from './simple-index';
import { readWheelMetadata, type CoreMetadata } from './wheel-metadata';

/** The file chosen for one version of a project: its best-fitting wheel. */
export interface Candidate {
  name: string;
  version: string;
  file: DistFile;
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

  async metadataOf(c: Candidate): Promise<CoreMetadata> {
    const key = `${c.name}==${c.version}`;
    let p = this.metadata.get(key);
    if (!p) {
      p = (async () => (await this.opts.installedMetadata?.(c.name, c.version)) ?? readWheelMetadata(await this.download(c.file), c.file.filename))();
      this.metadata.set(key, p);
    }
    return p;
  }

  private async loadProject(name: string): Promise<ProjectFiles> {
    const lists = await Promise.all([...this.opts.indexes.map((ix) => ix.files(name)), this.wheelDirFiles(name)]);
    const best = new Map<string, { file: DistFile; rank: number }>();
    const why = new Map<string, string>();
    for (const file of lists.flat()) {
      const parsed = parseFilename(file.filename);
      if (!parsed || parsed.name !== name) continue;
      if (file.requiresPython && !satisfies(this.target.pythonVersion, file.requiresPython, { prereleases: true })) {
        why.set(parsed.version, `needs Python ${file.requiresPython}, the sandbox has ${this.target.pythonVersion}`);
        continue;
      }
      if (parsed.kind === 'sdist') {
        if (!why.has(parsed.version)) why.set(parsed.version, 'only an sdist is published; sdists need a build sandbox, not supported yet');
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
    const candidates = [...best.entries()]
      .map(([version, { file }]) => ({ name, version, file, yanked: !!file.yanked, prerelease: isPrerelease(version) }))
      .sort((a, b) => rcompare(a.version, b.version));
    const unusable = [...why.entries()].filter(([v]) => !best.has(v)).map(([version, w]) => ({ version, why: w }));
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
