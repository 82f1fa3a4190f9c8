import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { MarkerEnvironment } from './markers';
import { PackageError } from './package-error';

/** What decides which files fit the sandbox: marker values and wheel tags, best tag first. */
export interface PythonTarget {
  markers: MarkerEnvironment;
  /** Wheel tags "interpreter-abi-platform" in preference order (as packaging.tags.sys_tags). */
  tags: string[];
  /** e.g. "3.11.2", checked against Requires-Python. */
  pythonVersion: string;
}

// Run by the target interpreter itself (standard library only), so markers
// and tags are those of the sandbox's Python, not guessed.
const PROBE = String.raw`
import json, os, platform, sys, sysconfig
v = sys.version_info
iv = sys.implementation.version
impl_version = "%d.%d.%d" % (iv.major, iv.minor, iv.micro)
if iv.releaselevel != "final":
    impl_version += iv.releaselevel[0] + str(iv.serial)
markers = {
    "implementation_name": sys.implementation.name,
    "implementation_version": impl_version,
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}
machine = platform.machine()
platforms = []
try:
    libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
except (ValueError, OSError):
    libc = ""
if libc.startswith("glibc "):
    major, minor = (int(x) for x in libc.split()[1].split(".")[:2])
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    for m in range(minor, 4, -1):
        platforms.append("manylinux_%d_%d_%s" % (major, m, machine))
        if m in legacy:
            platforms.append("%s_%s" % (legacy[m], machine))
platforms.append(sysconfig.get_platform().replace("-", "_").replace(".", "_"))
cp = "cp%d%d" % (v.major, v.minor)
tags = []
if sys.implementation.name == "cpython":
    tags += ["%s-%s-%s" % (cp, cp, p) for p in platforms]
    tags += ["%s-abi3-%s" % (cp, p) for p in platforms]
    tags += ["%s-none-%s" % (cp, p) for p in platforms]
    for m in range(v.minor - 1, 1, -1):
        tags += ["cp%d%d-abi3-%s" % (v.major, m, p) for p in platforms]
pys = ["py%d%d" % (v.major, v.minor), "py%d" % v.major] + ["py%d%d" % (v.major, m) for m in range(v.minor - 1, -1, -1)]
tags += ["%s-none-%s" % (py, p) for py in pys[:2] for p in platforms]
tags += ["%s-none-%s" % (py, p) for py in pys[2:] for p in platforms]
tags += ["%s-none-any" % cp]
tags += ["%s-none-any" % py for py in pys]
print(json.dumps({"markers": markers, "tags": tags, "pythonVersion": platform.python_version()}))
`;

/** Ask the interpreter for its marker values and tags (once per worker: the caller memoises). */
export async function probePython(python: string): Promise<PythonTarget> {
  try {
    const { stdout } = await promisify(execFile)(python, ['-I', '-S', '-c', PROBE], { timeout: 15000 });
    return JSON.parse(stdout) as PythonTarget;
  } catch (e) {
    throw new PackageError(
      `cannot read wheel tags and markers from the sandbox interpreter ${python}: ${(e as Error).message.split('\n')[0]}`,
      'set pypi.python to the interpreter the sandboxes run (sock.python)',
      503,
    );
  }
}
