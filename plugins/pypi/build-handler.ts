/**
 * The f.py of a build sandbox. The runtime calls f(event) with
 *   {"source": "/handler/src/<name-version>", "backend": "module:object",
 *    "backend_path": [...], "paths": ["/packages/<dep>", ...], "timeout_s": N}
 * It copies the read-only source to the sandbox's scratch dir (setuptools
 * writes into its tree), runs the backend's PEP 517 build_wheel hook in a
 * child process with the build requirements on PYTHONPATH and its output in
 * a log, and answers {"ok": true, "filename", "wheel": base64, "log"} or
 * {"ok": false, "reason", "log"} (the last bytes of the log).
 */
export const BUILD_HANDLER = String.raw`
import base64, json, os, shutil, signal, subprocess, sys

WORK = "/host/build"
LOG_TAIL = 16384

HOOK = r'''
import importlib, json, os, sys
spec, out_dir, result_file, backend_path = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
sys.path[:0] = [os.path.abspath(p) for p in backend_path]
module, _, attrs = spec.partition(":")
backend = importlib.import_module(module.strip())
for a in filter(None, attrs.strip().split(".")):
    backend = getattr(backend, a)
name = backend.build_wheel(out_dir)
with open(result_file, "w") as f:
    f.write(name)
'''


def tail(path):
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - LOG_TAIL))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def interfaces():
    with open("/proc/net/dev") as f:
        return [line.split(":")[0].strip() for line in f.read().splitlines()[2:]]


def f(event):
    others = [i for i in interfaces() if i != "lo"]
    if others:
        return {"ok": False, "reason": "the build sandbox has network interfaces (%s); builds run only without network (sock.network: none)" % ", ".join(others), "log": ""}
    src, out, tmp = WORK + "/src", WORK + "/out", WORK + "/tmp"
    shutil.copytree(event["source"], src)
    os.makedirs(out)
    os.makedirs(tmp)
    log_path, result = WORK + "/build.log", WORK + "/result"
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": WORK, "TMPDIR": tmp, "LANG": "C.UTF-8",
           "PYTHONPATH": os.pathsep.join(event["paths"]), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "PIP_NO_INDEX": "1"}
    argv = [sys.executable, "-c", HOOK, event["backend"], out, result, json.dumps(event["backend_path"])]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, cwd=src, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = proc.wait(timeout=event["timeout_s"])
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return {"ok": False, "reason": "the build did not finish within %d s (pypi.build.timeout_ms)" % event["timeout_s"], "log": tail(log_path)}
    if code != 0:
        why = "killed by signal %d" % -code if code < 0 else "exit status %d" % code
        return {"ok": False, "reason": "the build backend %s failed (%s)" % (event["backend"], why), "log": tail(log_path)}
    with open(result) as r:
        name = os.path.basename(r.read().strip())
    with open(os.path.join(out, name), "rb") as w:
        wheel = base64.b64encode(w.read()).decode()
    return {"ok": True, "filename": name, "wheel": wheel, "log": tail(log_path)}
`;
