import { parsePipRequirementsLine, type EnvironmentMarker } from 'pip-requirements-js';
import { validRange } from '@renovatebot/pep440';
import { PackageError } from './package-error';

/** One PEP 508 requirement: `name[extra,...] specifier ; marker`. */
export interface Requirement {
  /** Normalised (PEP 503): lower case, runs of -_. become one -. */
  name: string;
  extras: string[];
  /** PEP 440 specifier set, "" for any version, e.g. ">=1.0,<2". */
  specifier: string;
  marker?: EnvironmentMarker;
  /** The text it came from, for messages. */
  text: string;
}

export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** Parse one PEP 508 line; `where` names its origin in the error ("requirements of fn", "METADATA of A 1.0"). */
export function parseRequirement(text: string, where: string): Requirement {
  let parsed;
  try {
    parsed = parsePipRequirementsLine(text);
  } catch (e) {
    throw new PackageError(`${where}: "${text}" is not a PEP 508 requirement (${(e as Error).message.split('\n')[0]})`, 'write name[extras] specifiers ; markers, e.g. requests[socks]>=2.0,<3 ; python_version >= "3.8"');
  }
  if (!parsed || parsed.type !== 'ProjectName') {
    throw new PackageError(`${where}: "${text}" is not supported: only package names with versions are (no URLs, -r or -c)`, 'name the package and a version range; vendor other code into the function directory');
  }
  const specifier = (parsed.versionSpec ?? []).map((s) => `${s.operator}${s.version}`).join(',');
  if (specifier && !validRange(specifier)) {
    throw new PackageError(`${where}: "${text}" has an invalid PEP 440 version specifier "${specifier}"`, 'use specifiers such as >=1.0,<2 or ~=1.4 or ==2.1.*');
  }
  return {
    name: normalizeName(parsed.name),
    extras: [...new Set((parsed.extras ?? []).map(normalizeName))].sort(),
    specifier,
    marker: parsed.environmentMarkerTree,
    text: text.trim(),
  };
}
