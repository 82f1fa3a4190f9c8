import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { SuitabilityVerdict } from '../../core';

/** Verdicts on disk, one file per `name==version`: a package version never changes, so neither does its verdict. */
export class VerdictCache {
  constructor(private readonly dir: string) {}

  private file(name: string, version: string): string {
    // Normalised names and PEP 440 versions have no '/', but a user typed them: keep to one safe segment.
    return path.join(this.dir, `${name}==${version}.json`.replace(/[^A-Za-z0-9._=+!-]/g, '_'));
  }

  async get(name: string, version: string): Promise<SuitabilityVerdict | null> {
    try {
      return JSON.parse(await fs.readFile(this.file(name, version), 'utf8')) as SuitabilityVerdict;
    } catch {
      return null;
    }
  }

  async put(v: SuitabilityVerdict): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = this.file(v.package, v.version);
    // Write then rename: a concurrent reader never sees half a verdict.
    await fs.writeFile(file + '.tmp', JSON.stringify(v, null, 2) + '\n');
    await fs.rename(file + '.tmp', file);
  }
}
