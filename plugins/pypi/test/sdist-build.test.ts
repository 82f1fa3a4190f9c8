import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startWorker, type RunningWorker } from '../../../test/helpers/worker-fixture';
import { IndexServer } from './helpers/index-server';
import { functionDir } from './helpers/resolver-fixture';

// Build requirements: the index serves no setuptools or wheel, so setup.py sdists
// are built with the sandbox interpreter's own (Debian's python3-setuptools and
// python3-wheel); the pyproject.toml sdist needs `olbackend`, which the index serves.
const index = new IndexServer();
let fnRoot: string;
let w: RunningWorker;

/** A PEP 517 backend in a wheel: zips the project's package with METADATA and RECORD, and says where it ran from. */
const OLBACKEND = String.raw`
import base64, hashlib, os, tomllib, zipfile

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open("pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    name, version = project["name"], project["version"]
    dist = "%s-%s" % (name, version)
    files = {}
    for root, _, names in os.walk(name):
        for n in names:
            with open(os.path.join(root, n), "rb") as f:
                files[os.path.join(root, n)] = f.read()
    files[name + "/_built_by.py"] = ("BACKEND = %r\n" % __file__).encode()
    files[dist + ".dist-info/METADATA"] = ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version)).encode()
    files[dist + ".dist-info/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: olbackend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    digest = lambda d: base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode()
    record = "".join("%s,sha256=%s,%d\n" % (p, digest(d), len(d)) for p, d in files.items()) + dist + ".dist-info/RECORD,,\n"
    filename = dist + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as z:
        for p, d in files.items():
            z.writestr(p, d)
        z.writestr(dist + ".dist-info/RECORD", record)
    return filename
`;

/** setup.py of an sdist that tries to leave its sandbox while building, and records what happened. */
function sneakySetup(hostFile: string, port: number): string {
  return String.raw`
import json, os, socket
from setuptools import setup

results = {"uid": os.getuid()}

def attempt(name, action):
    try:
        action()
        results[name] = "succeeded"
    except Exception as e:
        results[name] = type(e).__name__

def write(path):
    with open(path, "w") as f:
        f.write("escaped")

def call_home():
    s = socket.create_connection(("127.0.0.1", ${port}), timeout=3)
    s.sendall(b"GET /sneaky-called-home HTTP/1.0\r\n\r\n")
    s.recv(100)

attempt("write_host_path", lambda: write(${JSON.stringify(hostFile)}))
attempt("write_system", lambda: write("/usr/lib/python3/dist-packages/sneaky_was_here.py"))
attempt("write_unpacked_source", lambda: write("/handler/src/sneaky-1.0/pwned"))
attempt("network", call_home)

def many_threads():
    import threading
    stop, started = threading.Event(), []
    try:
        for _ in range(300):
            t = threading.Thread(target=stop.wait)
            t.start()
            started.append(t)
    finally:
        stop.set()
        for t in started:
            t.join()

attempt("start_300_threads", many_threads)
os.makedirs("sneaky", exist_ok=True)
with open("sneaky/__init__.py", "w") as f:
    f.write("RESULTS = %s\n" % json.dumps(results))
setup(name="sneaky", version="1.0", packages=["sneaky"])
`;
}

const setupPy = (name: string, version: string, extra = '') => `from setuptools import setup\n${extra}setup(name="${name}", version="${version}", packages=["${name}"], install_requires=["lib>=1"])\n`;

before(async () => {
  await index.start();
  index.publish({ name: 'lib', version: '1.0' });
  index.publishSdist('srcpkg', '1.0', { 'setup.py': setupPy('srcpkg', '1.0'), 'srcpkg/__init__.py': 'VERSION = "1.0 built from source"\n' });
  index.publish({ name: 'olbackend', version: '1.0', files: { 'olbackend/__init__.py': OLBACKEND } });
  index.publishSdist('custom', '2.0', {
    'pyproject.toml': '[build-system]\nrequires = ["olbackend>=1"]\nbuild-backend = "olbackend"\n\n[project]\nname = "custom"\nversion = "2.0"\n',
    'custom/__init__.py': 'VERSION = "2.0"\n',
  });
  index.publishSdist('failing', '0.3', { 'setup.py': 'print("compiling the frobnicator")\nraise RuntimeError("the frobnicator is missing")\n' });
  index.publishSdist('slow', '1.0', { 'setup.py': 'import time\nprint("starting a long build", flush=True)\ntime.sleep(120)\n' });
  index.publishSdist('nobackend', '1.0', { 'pyproject.toml': '[build-system]\nrequires = ["nosuchbackend>=1"]\nbuild-backend = "nosuchbackend"\n' });
  fnRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'olsdistfn-'));
  const importer = (mod: string) => `import ${mod}\ndef f(event):\n    return ${mod}.VERSION\n`;
  functionDir(fnRoot, 'fromsrc', { 'requirements.txt': 'srcpkg>=1\n', 'f.py': 'import srcpkg, lib\ndef f(event):\n    return {"srcpkg": srcpkg.VERSION, "lib": lib.VERSION}\n' });
  functionDir(fnRoot, 'fromsrc2', { 'f.py': `# ol-install: srcpkg==1.0\n${importer('srcpkg')}` });
  functionDir(fnRoot, 'custom', { 'requirements.txt': 'custom\n', 'f.py': 'import custom, custom._built_by\ndef f(event):\n    return {"version": custom.VERSION, "backend": custom._built_by.BACKEND}\n' });
  functionDir(fnRoot, 'broken', { 'requirements.txt': 'failing\n', 'f.py': importer('failing') });
  functionDir(fnRoot, 'nobackend', { 'requirements.txt': 'nobackend\n', 'f.py': importer('nobackend') });
  functionDir(fnRoot, 'slow', { 'requirements.txt': 'slow\n', 'f.py': importer('slow') });
  functionDir(fnRoot, 'sneaky', { 'requirements.txt': 'sneaky\n', 'f.py': 'import sneaky\ndef f(event):\n    return sneaky.RESULTS\n' });
  w = await startWorker([`registry-dir.dirs=[${fnRoot}]`, `pypi.index_url=${index.url}`, 'pypi.build.timeout_ms=10000']);
});

after(async () => {
  await w?.stop();
  await index.stop();
  fs.rmSync(fnRoot, { recursive: true, force: true });
});

test('a package published only as an sdist is built in a sandbox, installed, and imported through /run', async () => {
  const r = await w.run('fromsrc', {});
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { srcpkg: '1.0 built from source', lib: '1.0' });
  // The lock pins the sdist itself, by its hash.
  const report = (await w.admin('GET', '/packages/functions/fromsrc')).json;
  assert.deepEqual(report.lock.packages.map((p: any) => [p.name, p.version, p.file, p.sha256]), [
    ['lib', '1.0', 'lib-1.0-py3-none-any.whl', index.files.get('lib-1.0-py3-none-any.whl')!.sha256],
    ['srcpkg', '1.0', 'srcpkg-1.0.tar.gz', index.files.get('srcpkg-1.0.tar.gz')!.sha256],
  ]);
  const built = path.join(w.dir, 'packages/.built/srcpkg-1.0');
  assert.deepEqual(fs.readdirSync(built).sort(), ['sdist.sha256', 'srcpkg-1.0-py3-none-any.whl']);
  // Another function needing the same version: from the store, not built or downloaded again.
  const again = await w.run('fromsrc2', {});
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json, '1.0 built from source');
  assert.equal(index.hits.get('/files/srcpkg-1.0.tar.gz'), 1);
});

test('build requirements named in pyproject.toml come from the index, into the store, and the backend runs from there', async () => {
  const r = await w.run('custom', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.version, '2.0');
  assert.match(r.json.backend, /^\/packages\/olbackend-1\.0\/olbackend\/__init__\.py$/);
  const store = (await w.admin('GET', '/packages')).json;
  assert.ok(store.packages.some((p: any) => p.name === 'olbackend' && p.version === '1.0'));
});

test('a failing build names the package, the version and the end of the build log', async () => {
  const r = await w.run('broken', {});
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.error.message, /building failing 0\.3 from its sdist failed: the build backend setuptools\.build_meta:__legacy__ failed \(exit status 1\); the last lines of the build log:/);
  assert.match(r.json.error.message, /\| compiling the frobnicator[\s\S]*\| RuntimeError: the frobnicator is missing/);
  assert.match(r.json.error.hint, /pin a version that publishes a wheel/);
});

test('a build requirement no source offers is named, with what to do', async () => {
  const r = await w.run('nobackend', {});
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.error.message, /cannot install the build requirements of nobackend 1\.0 \(nobackend-1\.0\.tar\.gz\): .*the build of nobackend 1\.0 \(nobackend-1\.0\.tar\.gz\) needs nosuchbackend>=1, but no configured index has a package named "nosuchbackend"/s);
  assert.match(r.json.error.hint, /publish the build requirements as wheels/);
});

test('a build runs sandboxed: unprivileged, no network, nothing written outside its scratch dir, its process limit', async () => {
  const hostFile = path.join(w.dir, 'packages', 'sneaky-escaped');
  index.publishSdist('sneaky', '1.0', { 'setup.py': sneakySetup(hostFile, index.port) });
  const r = await w.run('sneaky', {});
  assert.equal(r.status, 200, r.text);
  // The sandbox user (sock.uid); host paths do not exist in the sandbox; its base and the source are
  // read-only (EROFS); loopback is the sandbox's own, where the index does not listen; pids.max is
  // pypi.build.procs (128).
  assert.deepEqual(r.json, {
    uid: 65534,
    write_host_path: 'FileNotFoundError',
    write_system: 'OSError',
    write_unpacked_source: 'OSError',
    network: 'ConnectionRefusedError',
    start_300_threads: 'RuntimeError',
  });
  assert.equal(fs.existsSync(hostFile), false);
  assert.equal(fs.existsSync('/usr/lib/python3/dist-packages/sneaky_was_here.py'), false);
  assert.equal(index.hits.get('/sneaky-called-home'), undefined);
});

test('a build past pypi.build.timeout_ms is stopped and reported with its log', async () => {
  const r = await w.run('slow', {});
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.error.message, /building slow 1\.0 from its sdist failed: the build did not finish within 9 s \(pypi\.build\.timeout_ms\).*\| starting a long build/s);
});
