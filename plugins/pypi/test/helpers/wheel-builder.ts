import { createHash } from 'node:crypto';
import { writeZip, type ZipInput } from './zip-writer';

export interface WheelSpec {
  name: string;
  version: string;
  /** Requires-Dist lines, e.g. 'b>=1,<2', 'pysocks ; extra == "socks"'. */
  requires?: string[];
  extras?: string[];
  requiresPython?: string;
  /** Wheel tag, "py3-none-any" by default. */
  tag?: string;
  /** Module files; by default `<module>/__init__.py` with VERSION = "<version>". */
  files?: Record<string, string>;
  /** Extra raw zip entries (e.g. path traversal, symlinks). */
  extraEntries?: ZipInput[];
  /** Files whose content is replaced after RECORD was written (a tampered wheel). */
  tampered?: Record<string, string>;
  /** Entries added without a RECORD line. */
  unrecorded?: ZipInput[];
}

export interface BuiltWheel {
  filename: string;
  data: Buffer;
  sha256: string;
}

/** The module a test package installs: its normalised name with - as _. */
export function moduleName(name: string): string {
  return name.toLowerCase().replace(/[-.]+/g, '_');
}

/** A real wheel (METADATA, WHEEL, RECORD in .dist-info) whose module reports its version. */
export function buildWheel(spec: WheelSpec): BuiltWheel {
  const mod = moduleName(spec.name);
  const dist = `${mod}-${spec.version}`;
  const tag = spec.tag ?? 'py3-none-any';
  const meta = [
    'Metadata-Version: 2.1',
    `Name: ${spec.name}`,
    `Version: ${spec.version}`,
    ...(spec.requiresPython ? [`Requires-Python: ${spec.requiresPython}`] : []),
    ...(spec.extras ?? []).map((e) => `Provides-Extra: ${e}`),
    ...(spec.requires ?? []).map((r) => `Requires-Dist: ${r}`),
    '',
    `${spec.name} is a test package.`,
    '',
  ].join('\n');
  const wheelInfo = `Wheel-Version: 1.0\nGenerator: ol-kernel-tests\nRoot-Is-Purelib: true\nTag: ${tag}\n`;
  const files = spec.files ?? { [`${mod}/__init__.py`]: `VERSION = "${spec.version}"\n` };
  const entries: ZipInput[] = [
    ...Object.entries(files).map(([name, data]) => ({ name, data })),
    { name: `${dist}.dist-info/METADATA`, data: meta },
    { name: `${dist}.dist-info/WHEEL`, data: wheelInfo },
    ...(spec.extraEntries ?? []),
  ];
  const record = [...entries.map((e) => `${e.name},sha256=${b64(e.data)},${Buffer.byteLength(e.data)}`), `${dist}.dist-info/RECORD,,`, ''].join('\n');
  entries.push({ name: `${dist}.dist-info/RECORD`, data: record });
  for (const [name, text] of Object.entries(spec.tampered ?? {})) entries.find((e) => e.name === name)!.data = text;
  entries.push(...(spec.unrecorded ?? []));
  const data = writeZip(entries);
  return { filename: `${dist}-${tag}.whl`, data, sha256: createHash('sha256').update(data).digest('hex') };
}

function b64(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('base64url');
}
