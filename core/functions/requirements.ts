/**
 * Requirement and import lists from the three places OpenLambda functions
 * declare them: requirements.txt, ol.yaml (packages/imports), and the
 * single-file form's `# ol-install:` / `# ol-import:` comments in f.py.
 */

/** PEP 508 lines of a requirements.txt: comments and blank lines dropped. */
export function parseRequirementsTxt(text: string, file: string): string[] {
  const out: string[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) continue;
    if (line.startsWith('-')) {
      throw new Error(`${file}:${i + 1}: pip options ("${line}") are not supported; list one PEP 508 requirement per line`);
    }
    out.push(line);
  }
  return out;
}

export interface SingleFileDirectives {
  install: string[];
  imports: string[];
}

/** `# ol-install: parso, jedi>=0.18` and `# ol-import: parso,jedi` comment lines anywhere in the entry file. */
export function parseSingleFileDirectives(source: string): SingleFileDirectives {
  const found: SingleFileDirectives = { install: [], imports: [] };
  for (const line of source.split('\n')) {
    const m = /^\s*#\s*ol-(install|import)\s*:(.*)$/.exec(line);
    if (!m) continue;
    const items = m[2].split(',').map((s) => s.trim()).filter(Boolean);
    (m[1] === 'install' ? found.install : found.imports).push(...items);
  }
  return found;
}
