import { satisfies } from '@renovatebot/pep440';
import type { Candidate, Finder } from './finder';
import { evaluateMarker } from './markers';
import { PackageError } from './package-error';
import type { PythonTarget } from './python-target';
import { parseRequirement, type Requirement } from './requirement';

/** A requirement and who asked for it ("the function", or "a 2.0"). */
interface Constraint {
  req: Requirement;
  from: string;
}

/** One package chosen for the graph. */
export interface Pin {
  candidate: Candidate;
  /** Extras whose dependencies are already part of the graph. */
  extras: string[];
  /** Who required it, for the report. */
  requiredBy: string[];
}

interface State {
  pins: Map<string, Pin>;
  constraints: Constraint[];
}

export const FUNCTION = 'the function';

export interface ResolverOptions {
  allowPrereleases: boolean;
  maxRounds: number;
}

/**
 * Backtracking resolution of a whole requirement graph: pick the newest
 * version that fits every range seen so far, add its dependencies (with the
 * extras asked for and markers evaluated for the sandbox's Python), and on a
 * dead end go back and try the next older version. Failures are phrased as
 * "A 2.0 needs B<2, but the function needs B==2.1".
 */
export class Resolver {
  private rounds = 0;
  private readonly conflicts = new Set<string>();

  constructor(
    private readonly finder: Finder,
    private readonly target: PythonTarget,
    private readonly opts: ResolverOptions,
  ) {}

  /** `from` names who asks for the roots in messages ("the function", "the build of b 1.0"). */
  async resolve(roots: Requirement[], from = FUNCTION): Promise<Pin[]> {
    const constraints = roots.filter((r) => evaluateMarker(r.marker, this.target.markers)).map((req) => ({ req, from }));
    const result = await this.solve({ pins: new Map(), constraints });
    if (result) return [...result.pins.values()];
    const reasons = [...this.conflicts].slice(0, 6);
    throw new PackageError(
      `cannot find package versions that satisfy every requirement:\n  - ${reasons.join('\n  - ')}`,
      'relax or change one of the conflicting ranges (in requirements.txt, ol.yaml or # ol-install:), then upload the function again',
    );
  }

  private async solve(state: State): Promise<State | null> {
    if (++this.rounds > this.opts.maxRounds) {
      throw new PackageError(`gave up after ${this.opts.maxRounds} resolution steps: the requirement graph has too many combinations to try`, 'pin some indirect packages (or raise pypi.max_rounds)');
    }
    if (!this.pinsHold(state)) return null;
    const widened = await this.addMissingExtras(state);
    if (widened) return this.solve(widened);
    const next = state.constraints.find((c) => !state.pins.has(c.req.name));
    if (!next) return state;
    return this.tryVersions(state, next.req.name);
  }

  /** Every chosen version must still fit every constraint on it (new ones arrive as the graph grows). */
  private pinsHold(state: State): boolean {
    for (const c of state.constraints) {
      const pin = state.pins.get(c.req.name);
      if (pin && !this.fits(pin.candidate, c.req.specifier)) {
        const others = state.constraints.filter((o) => o.req.name === c.req.name && o !== c);
        const chosenFor = others.length ? others.map(describe).join(' and ') : `${pin.candidate.version} was chosen`;
        this.conflicts.add(`${describe(c)}, but ${chosenFor} (${c.req.name} ${pin.candidate.version} was picked)`);
        return false;
      }
    }
    return true;
  }

  /** A package already chosen that a later requirement asks for with more extras gains those extras' dependencies. */
  private async addMissingExtras(state: State): Promise<State | null> {
    for (const c of state.constraints) {
      const pin = state.pins.get(c.req.name);
      const missing = pin ? c.req.extras.filter((e) => !pin.extras.includes(e)) : [];
      if (!pin || !missing.length) continue;
      const deps = await this.dependencies(pin.candidate, missing);
      const pins = new Map(state.pins).set(c.req.name, { ...pin, extras: [...pin.extras, ...missing] });
      return { pins, constraints: [...state.constraints, ...deps] };
    }
    return null;
  }

  private async tryVersions(state: State, name: string): Promise<State | null> {
    const on = state.constraints.filter((c) => c.req.name === name);
    const project = await this.finder.project(name);
    const fitting = this.choose(project.candidates, on);
    if (!fitting.length) {
      this.conflicts.add(this.explainNone(name, on, project));
      return null;
    }
    const extras = [...new Set(on.flatMap((c) => c.req.extras))].sort();
    for (const candidate of fitting) {
      const deps = await this.dependencies(candidate, extras);
      const pins = new Map(state.pins).set(name, { candidate, extras, requiredBy: [...new Set(on.map((c) => c.from))] });
      const solved = await this.solve({ pins, constraints: [...state.constraints, ...deps] });
      if (solved) return solved;
    }
    return null;
  }

  /**
   * Versions fitting every constraint, newest first. Pre-releases only when
   * allowed, named by a specifier, or nothing else fits; yanked files only
   * when a constraint pins that exact version (pip's rules, PEP 440 and 592).
   */
  private choose(candidates: Candidate[], on: Constraint[]): Candidate[] {
    const specs = on.map((c) => c.req.specifier).filter(Boolean);
    const exact = new Set(on.map((c) => /^===?([^,*]+)$/.exec(c.req.specifier)?.[1]).filter(Boolean));
    const usable = candidates.filter((c) => !c.yanked || exact.has(c.version));
    const fitting = (pre: boolean) => usable.filter((c) => specs.every((s) => satisfies(c.version, s, pre ? { prereleases: true } : undefined)));
    const finals = fitting(this.opts.allowPrereleases).filter((c) => this.opts.allowPrereleases || !c.prerelease || specs.some((s) => satisfies(c.version, s)));
    return finals.length ? finals : fitting(true);
  }

  private fits(c: Candidate, specifier: string): boolean {
    return !specifier || satisfies(c.version, specifier, { prereleases: true });
  }

  private async dependencies(c: Candidate, extras: string[]): Promise<Constraint[]> {
    const meta = await this.finder.metadataOf(c);
    const from = `${c.name} ${c.version}`;
    if (meta.requiresPython && !satisfies(this.target.pythonVersion, meta.requiresPython, { prereleases: true })) {
      this.conflicts.add(`${from} needs Python ${meta.requiresPython}, the sandbox has ${this.target.pythonVersion}`);
      return [{ req: { name: c.name, extras: [], specifier: `!=${c.version}`, text: `Python ${meta.requiresPython}` }, from }];
    }
    const out: Constraint[] = [];
    for (const line of meta.requiresDist) {
      const req = parseRequirement(line, `the metadata of ${from}`);
      if (evaluateMarker(req.marker, this.target.markers, extras)) out.push({ req, from });
    }
    return out;
  }

  private explainNone(name: string, on: Constraint[], project: { candidates: Candidate[]; unusable: { version: string; why: string }[] }): string {
    const wanted = on.map(describe).join(' and ');
    if (!project.candidates.length && !project.unusable.length) return `${wanted}, but no configured index has a package named "${name}"`;
    if (!project.candidates.length) {
      const u = project.unusable[0];
      return `${wanted}, but no version of ${name} has a usable wheel (e.g. ${name} ${u.version}: ${u.why})`;
    }
    if (on.length > 1) {
      const [last, ...rest] = [...on].reverse();
      return `${describe(last)}, but ${rest.map(describe).join(' and ')}; no version of ${name} satisfies both (available: ${versionsOf(project.candidates)})`;
    }
    const yanked = project.candidates.filter((c) => c.yanked).map((c) => c.version);
    const note = yanked.length ? `; yanked, used only when pinned with ==: ${yanked.join(', ')}` : '';
    const unusable = project.unusable.length ? `; without a usable wheel: ${project.unusable.map((u) => `${u.version} (${u.why})`).join(', ')}` : '';
    return `${wanted}, but no version of ${name} fits (available: ${versionsOf(project.candidates.filter((c) => !c.yanked))}${note}${unusable})`;
  }
}

function describe(c: Constraint): string {
  const spec = c.req.text.split(';')[0].trim();
  return `${c.from} needs ${spec}`;
}

function versionsOf(cs: Candidate[]): string {
  const vs = cs.map((c) => c.version);
  return vs.length > 8 ? `${vs.slice(0, 8).join(', ')}, ...` : vs.join(', ') || 'none';
}

/** Requirements of a function, parsed; the text names where they came from. */
export function parseRoots(lines: string[], fnName: string): Requirement[] {
  return lines.map((l) => parseRequirement(l, `the requirements of ${fnName}`));
}
