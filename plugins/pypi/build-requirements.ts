import { satisfies } from '@renovatebot/pep440';
import type { Finder } from './finder';
import { hostPackages } from './host-packages';
import { evaluateMarker } from './markers';
import { PackageError } from './package-error';
import { PackageStore } from './package-store';
import type { PythonTarget } from './python-target';
import { parseRequirement, type Requirement } from './requirement';
import { Resolver, type ResolverOptions } from './resolver';
import type { BuildDeps } from './sdist-builder';

export interface BuildRequirementsOptions {
  store: PackageStore;
  /** The sandbox interpreter, whose site-packages is the fallback. */
  python: string;
  resolver: ResolverOptions;
  target: () => Promise<PythonTarget>;
  /** A Finder that offers wheels only (a build requirement is never itself built from source). */
  wheelFinder: () => Promise<Finder>;
}

/**
 * PEP 517/518 build requirements of one sdist, resolved from the configured
 * sources and installed into the store as wheels. One that no source offers
 * as a wheel is taken from the sandbox interpreter's own site-packages when
 * its version fits (Debian's python3-setuptools and python3-wheel for the
 * default requirements): then nothing is mounted for it.
 */
export class BuildRequirements {
  private host?: Promise<Map<string, string>>;
  private holders = 0;

  constructor(private readonly opts: BuildRequirementsOptions) {}

  async install(requires: string[], what: string): Promise<BuildDeps> {
    const target = await this.opts.target();
    const finder = await this.opts.wheelFinder();
    const roots = await this.notOnHost(requires.map((r) => parseRequirement(r, `the build requirements of ${what}`)).filter((r) => evaluateMarker(r.marker, target.markers)), finder);
    if (!roots.length) return { dirs: [], done: () => undefined };
    const pins = await new Resolver(finder, target, this.opts.resolver)
      .resolve(roots, `the build of ${what}`)
      .catch((e: unknown) => {
        if (!(e instanceof PackageError) || e.status !== 422) throw e;
        throw new PackageError(
          `cannot install the build requirements of ${what}: ${e.message}`,
          `publish the build requirements as wheels on the index or in pypi.wheel_dir, or install them for ${this.opts.python} (Debian: apt-get install python3-setuptools python3-wheel); or pin a version that publishes a wheel`,
        );
      });
    // Held like a function's packages while the build runs, so eviction cannot remove them mid-build.
    const store = this.opts.store;
    const holder = `.build-${++this.holders}`;
    store.useByFunction(holder, pins.map((p) => PackageStore.key(p.candidate.name, p.candidate.version)));
    try {
      const dirs = await Promise.all(pins.map((p) => store.ensure(p.candidate.name, p.candidate.version, () => finder.wheel(p.candidate))));
      return { dirs, done: () => store.forgetFunction(holder) };
    } catch (e) {
      store.forgetFunction(holder);
      throw e;
    }
  }

  /** The requirements the interpreter's site-packages does not already satisfy for want of a wheel. */
  private async notOnHost(reqs: Requirement[], finder: Finder): Promise<Requirement[]> {
    this.host ??= hostPackages(this.opts.python);
    const host = await this.host;
    const out: Requirement[] = [];
    for (const req of reqs) {
      const offered = await finder.project(req.name);
      const version = host.get(req.name);
      const fromHost = !offered.candidates.length && version !== undefined && (!req.specifier || satisfies(version, req.specifier, { prereleases: true }));
      if (!fromHost) out.push(req);
    }
    return out;
  }
}
