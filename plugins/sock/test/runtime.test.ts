// Tests for the in-sandbox Python runtime (plugins/sock/runtime/ol_runtime.py),
// run directly on the host: no sandbox, a temp dir as code and socket dir.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';

// Debian's interpreter, as in the sandbox (python3 on PATH may be pyenv).
const PYTHON = '/usr/bin/python3';
// Compiled to dist/plugins/sock/test/; OL_RUNTIME_PY lets a hand build elsewhere find it.
const RUNTIME_PY =
  process.env.OL_RUNTIME_PY ?? path.resolve(__dirname, '../../../../plugins/sock/runtime/ol_runtime.py');

interface Runtime {
  child: ChildProcess;
  dir: string;
  socketPath: string;
  agent: http.Agent;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout: () => string;
  stderr: () => string;
  stop: () => Promise<void>;
}

async function startRuntime(files: Record<string, string>, extraArgs: string[] = []): Promise<Runtime> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ol-runtime-test-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  const socketPath = path.join(dir, 'ol.sock');
  const args = ['-u', '-B', RUNTIME_PY, '--socket', socketPath, '--code', dir,
    '--entry', 'f.py', '--handler', 'f', '--status-fd', '3', ...extraArgs];
  // Empty environment, as in the sandbox.
  const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: {} });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })));

  // The runtime writes "ready\n" and closes the fd: read to EOF.
  const status = await new Promise<string>((resolve, reject) => {
    let text = '';
    const pipe = child.stdio[3] as Readable;
    pipe.on('data', (d) => (text += d));
    pipe.on('end', () => resolve(text));
    child.on('error', reject);
  });
  assert.equal(status, 'ready\n', `runtime did not start; stderr:\n${stderr}`);

  const agent = new http.Agent({ keepAlive: true });
  const rt: Runtime = {
    child, dir, socketPath, agent, exited,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: async () => {
      agent.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return rt;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  reused: boolean;
}

function request(rt: Runtime, method: string, urlPath: string, body?: string | string[],
  headers: Record<string, string> = {}, agent: http.Agent = rt.agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // A string is sent with Content-Length; an array of parts is sent chunked.
    const lengthHeader = typeof body === 'string' ? { 'Content-Length': String(Buffer.byteLength(body)) } : {};
    const req = http.request({ socketPath: rt.socketPath, agent, method, path: urlPath,
      headers: { ...lengthHeader, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers,
        body: Buffer.concat(chunks).toString(), reused: req.reusedSocket }));
    });
    req.on('error', reject);
    if (Array.isArray(body)) for (const part of body) req.write(part);
    else if (body !== undefined) req.write(body);
    req.end();
  });
}

async function run(rt: Runtime, event: unknown, requestId = 'req-1'):
  Promise<{ status: number; json: any; reply: Reply }> {
  const body = event === undefined ? '' : JSON.stringify(event);
  const reply = await request(rt, 'POST', '/run', body,
    { 'Content-Type': 'application/json', 'X-OL-Request-Id': requestId });
  assert.equal(reply.headers['content-type'], 'application/json');
  assert.equal(Number(reply.headers['content-length']), Buffer.byteLength(reply.body));
  return { status: reply.status, json: JSON.parse(reply.body), reply };
}

// One function that does whatever the event asks, shared by most tests.
const MAIN_F = `
import sys, time
import helper          # a module beside f.py, in the code dir
import extra           # a module from a --path dir

def fail(message):
    raise ValueError(message)

def f(event):
    op = event.get("op") if isinstance(event, dict) else None
    if op == "raise":
        fail(event["message"])
    if op == "custom":
        raise helper.CustomError("custom")
    if op == "set":
        return {"values": {1, 2}}
    if op == "nan":
        return float("nan")
    if op == "exit":
        sys.exit(event.get("code"))
    if op == "sleep":
        print("sleeping", flush=True)
        time.sleep(event["seconds"])
    return {"event": event, "helper": helper.NAME, "extra": extra.NAME}
`;

let main: Runtime;
let extraDir: string;

before(async () => {
  extraDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ol-runtime-extra-'));
  fs.writeFileSync(path.join(extraDir, 'extra.py'), 'NAME = "extra"\n');
  main = await startRuntime({
    'f.py': MAIN_F,
    'helper.py': 'NAME = "helper"\nclass CustomError(Exception):\n    pass\n',
  }, ['--path', extraDir]);
});

after(async () => {
  await main.stop();
  fs.rmSync(extraDir, { recursive: true, force: true });
});

test('echo round-trip of nested JSON, with the request id echoed', async () => {
  const event = { a: [1, 2.5, { b: null, c: [true, false] }], s: 'ünï\u{1F600}', n: { deep: { deeper: [[]] } } };
  const { status, json, reply } = await run(main, event, 'abc-123');
  assert.equal(status, 200);
  assert.deepEqual(json, { event, helper: 'helper', extra: 'extra' });
  assert.equal(reply.headers['x-ol-request-id'], 'abc-123');
});

test('two sequential requests reuse one keep-alive connection', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const first = await request(main, 'POST', '/run', '1', {}, agent);
    const second = await request(main, 'POST', '/run', '2', {}, agent);
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    assert.equal(JSON.parse(second.body).event, 2);
    assert.equal(first.reused, false);
    assert.equal(second.reused, true);
  } finally {
    agent.destroy();
  }
});

test('an idle keep-alive connection does not block another client', async () => {
  await run(main, 'warm'); // leaves main.agent's connection open and idle
  const other = new http.Agent({ keepAlive: false });
  try {
    const reply = await request(main, 'POST', '/run', '"other"', {}, other);
    assert.equal(reply.status, 200);
  } finally {
    other.destroy();
  }
  const again = await run(main, 'again');
  assert.equal(again.status, 200);
  assert.equal(again.reply.reused, true);
});

test('exception -> 500 with qualified type, message and a traceback naming the function file', async () => {
  const { status, json } = await run(main, { op: 'raise', message: 'boom' });
  assert.equal(status, 500);
  assert.equal(json.error.kind, 'exception');
  assert.equal(json.error.type, 'ValueError');
  assert.equal(json.error.message, 'boom');
  assert.match(json.error.traceback, /f\.py", line \d+, in fail/);
  assert.match(json.error.traceback, /ValueError: boom/);
  assert.doesNotMatch(json.error.traceback, /ol_runtime\.py/);

  const custom = await run(main, { op: 'custom' });
  assert.equal(custom.json.error.type, 'helper.CustomError');
});

test('a return value that is not JSON-serialisable -> 500 bad-return', async () => {
  const { status, json } = await run(main, { op: 'set' });
  assert.equal(status, 500);
  assert.equal(json.error.kind, 'bad-return');
  assert.equal(json.error.type, 'set');
  assert.match(json.error.message, /contains a set/);
  assert.match(json.error.message, /list\(\.\.\.\)/);

  const nan = await run(main, { op: 'nan' });
  assert.equal(nan.status, 500);
  assert.equal(nan.json.error.kind, 'bad-return');
});

test('malformed JSON body -> 400 bad-event', async () => {
  const reply = await request(main, 'POST', '/run', '{"a": ', { 'Content-Type': 'application/json' });
  assert.equal(reply.status, 400);
  const error = JSON.parse(reply.body).error;
  assert.equal(error.kind, 'bad-event');
  assert.match(error.message, /not valid JSON/);
  // The connection stays usable.
  assert.equal((await run(main, 1)).status, 200);
});

test('empty body -> event None', async () => {
  const { status, json } = await run(main, undefined);
  assert.equal(status, 200);
  assert.equal(json.event, null);
});

test('chunked request body', async () => {
  const reply = await request(main, 'POST', '/run', ['{"parts": ', '[1, ', '2]}']);
  assert.equal(reply.status, 200);
  assert.deepEqual(JSON.parse(reply.body).event, { parts: [1, 2] });
});

test('pipelined requests on one connection are both answered', async () => {
  const req = (body: string, extra = '') =>
    `POST /run HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
  const text = await rawExchange(main, req('"p1"') + req('"p2"', 'Connection: close\r\n'));
  assert.equal(text.match(/HTTP\/1\.1 200 OK/g)?.length, 2);
  assert.match(text, /"event": ?"p1"[^]*"event": ?"p2"/);
});

/** Writes raw bytes on a new connection and resolves with everything the runtime answered before closing. */
function rawExchange(rt: Runtime, bytes: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let data = '';
    const sock = net.createConnection(rt.socketPath, () => sock.write(bytes));
    sock.on('data', (d) => (data += d));
    sock.on('end', () => resolve(data));
    sock.on('error', reject);
  });
}

test('a client that sent half a request does not hold up another client', async () => {
  const slow = net.createConnection(main.socketPath);
  try {
    await new Promise<void>((resolve) => slow.on('connect', resolve));
    slow.write('POST /run HTTP/1.1\r\nContent-Length: 10\r\n\r\n"hal');
    const other = await run(main, 'not blocked', 'req-other');
    assert.equal(other.status, 200);
    assert.equal(other.reply.headers['x-ol-request-id'], 'req-other');
    // The rest of the slow request arrives later and is answered in full.
    const answer = new Promise<string>((resolve) => { let d = ''; slow.on('data', (c) => (d += c)); slow.on('end', () => resolve(d)); });
    slow.end('f one"');
    assert.match(await answer, /^HTTP\/1\.1 200 OK[^]*"event": ?"half one"/);
  } finally {
    slow.destroy();
  }
});

test('a malformed request line or an oversized head gets a JSON 400/431 and the connection closes', async () => {
  const garbage = await rawExchange(main, 'HELLO\r\n\r\n');
  assert.match(garbage, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(garbage, /Connection: close/);
  assert.equal(JSON.parse(garbage.split('\r\n\r\n')[1]).error.kind, 'bad-request');
  const badLength = await rawExchange(main, 'POST /run HTTP/1.1\r\nContent-Length: x\r\n\r\n');
  assert.match(badLength, /^HTTP\/1\.1 400 [^]*bad Content-Length/);
  const huge = await rawExchange(main, `GET /health HTTP/1.1\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`);
  assert.match(huge, /^HTTP\/1\.1 431 /);
  assert.equal((await run(main, 'still serving')).status, 200);
});

test('GET /health -> ok; other routes -> 404', async () => {
  const health = await request(main, 'GET', '/health');
  assert.equal(health.status, 200);
  assert.equal(health.body, 'ok');
  const missing = await request(main, 'GET', '/nope');
  assert.equal(missing.status, 404);
  assert.equal(JSON.parse(missing.body).error.kind, 'not-found');
  assert.equal((await request(main, 'GET', '/run')).status, 404);
});

test('sys.exit in the handler is reported as kind exit and the server keeps serving', async () => {
  const { status, json } = await run(main, { op: 'exit', code: 3 });
  assert.equal(status, 500);
  assert.equal(json.error.kind, 'exit');
  assert.equal(json.error.type, 'SystemExit');
  assert.equal(json.error.code, 3);
  const next = await run(main, 'still here');
  assert.equal(next.status, 200);
  assert.equal(next.json.event, 'still here');
  assert.equal(main.child.exitCode, null);
});

test('a syntax error in f.py is reported on every request', async () => {
  const rt = await startRuntime({ 'f.py': 'def f(event)\n    return 1\n' });
  try {
    for (let i = 0; i < 2; i++) {
      const { status, json } = await run(rt, {});
      assert.equal(status, 500);
      assert.equal(json.error.kind, 'load');
      assert.equal(json.error.type, 'SyntaxError');
      assert.match(json.error.traceback, /f\.py", line 1/);
      assert.doesNotMatch(json.error.traceback, /ol_runtime\.py|importlib/);
    }
    assert.equal((await request(rt, 'GET', '/health')).status, 200);
  } finally {
    await rt.stop();
  }
});

test('a missing handler or a failing import is a load error', async () => {
  const rt = await startRuntime({ 'f.py': 'def g(event):\n    return 1\n' });
  try {
    const { json } = await run(rt, {});
    assert.equal(json.error.kind, 'load');
    assert.equal(json.error.type, 'AttributeError');
    assert.match(json.error.message, /defines no 'f'/);
  } finally {
    await rt.stop();
  }
  const rt2 = await startRuntime({ 'f.py': 'import no_such_module_xyz\ndef f(event):\n    return 1\n' });
  try {
    const { json } = await run(rt2, {});
    assert.equal(json.error.type, 'ModuleNotFoundError');
    assert.match(json.error.traceback, /f\.py", line 1/);
  } finally {
    await rt2.stop();
  }
});

test('SIGTERM exits 0 and removes the socket', async () => {
  const rt = await startRuntime({ 'f.py': 'def f(event):\n    return event\n' });
  try {
    assert.equal((await run(rt, 1)).status, 200); // an idle keep-alive connection stays open
    rt.child.kill('SIGTERM');
    assert.deepEqual(await rt.exited, { code: 0, signal: null });
    assert.equal(fs.existsSync(rt.socketPath), false);
    assert.equal(rt.stderr(), '');
  } finally {
    await rt.stop();
  }
});

test('SIGTERM while the function runs exits 0 promptly', async () => {
  const rt = await startRuntime({ 'f.py': MAIN_F, 'helper.py': 'NAME = 1\n' }, ['--path', extraDir]);
  try {
    const pending = run(rt, { op: 'sleep', seconds: 30 }).catch((e: Error) => e);
    while (!rt.stdout().includes('sleeping')) await new Promise((r) => setTimeout(r, 10));
    const start = Date.now();
    rt.child.kill('SIGTERM');
    assert.deepEqual(await rt.exited, { code: 0, signal: null });
    assert.ok(Date.now() - start < 5000);
    assert.ok(await pending instanceof Error); // the in-flight request is cut off
  } finally {
    await rt.stop();
  }
});

test('X-OL-Capture: the call\'s fds 1 and 2 go to per-request files, C writes and children included', async () => {
  const code = `
import ctypes, os, sys
libc = ctypes.CDLL(None)
def f(event):
    print("py out")
    print("py err", file=sys.stderr)
    libc.printf(b"c printf\\n")  # buffered by C stdio: the runtime's fflush(NULL) must push it
    libc.write(1, b"c write\\n", 8)
    os.system("echo child out; echo child err >&2")
    return event
`;
  const captureDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ol-capture-')), 'out');
  const rt = await startRuntime({ 'f.py': code }, ['--capture-dir', captureDir]);
  try {
    const reply = await request(rt, 'POST', '/run', '1', { 'X-OL-Capture': 'req_1' });
    assert.equal(reply.status, 200, reply.body);
    const out = fs.readFileSync(path.join(captureDir, 'req_1.stdout'), 'utf8');
    const err = fs.readFileSync(path.join(captureDir, 'req_1.stderr'), 'utf8');
    for (const line of ['py out', 'c printf', 'c write', 'child out']) assert.match(out, new RegExp(`^${line}$`, 'm'));
    for (const line of ['py err', 'child err']) assert.match(err, new RegExp(`^${line}$`, 'm'));
    // Without the header (or with a stem that is not a plain name) output stays on the process's own fds.
    await request(rt, 'POST', '/run', '2', { 'X-OL-Capture': '../escape' });
    await request(rt, 'POST', '/run', '3');
    assert.deepEqual(fs.readdirSync(captureDir).sort(), ['req_1.stderr', 'req_1.stdout']);
    assert.equal(rt.stdout().match(/py out/g)?.length, 2);
    assert.doesNotMatch(fs.readFileSync(path.join(captureDir, 'req_1.stdout'), 'utf8'), /py out[\s\S]*py out/);
  } finally {
    await rt.stop();
    fs.rmSync(path.dirname(captureDir), { recursive: true, force: true });
  }
});

test('X-OL-Output: the runtime reports each call\'s output sizes and removes the files of a call that printed nothing', async () => {
  const code = `
def f(event):
    if event:
        print("x" * event)
    return event
`;
  const captureDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ol-capture-')), 'out');
  const rt = await startRuntime({ 'f.py': code }, ['--capture-dir', captureDir]);
  try {
    const quiet = await request(rt, 'POST', '/run', '0', { 'X-OL-Capture': 'quiet' });
    assert.equal(quiet.headers['x-ol-output'], '0 0');
    assert.deepEqual(fs.readdirSync(captureDir), [], 'nothing left for the worker to open');
    const loud = await request(rt, 'POST', '/run', '5', { 'X-OL-Capture': 'loud' });
    assert.equal(loud.headers['x-ol-output'], '6 0');
    assert.equal(fs.readFileSync(path.join(captureDir, 'loud.stdout'), 'utf8'), 'xxxxx\n');
    const uncaptured = await request(rt, 'POST', '/run', '0');
    assert.equal(uncaptured.headers['x-ol-output'], undefined, 'no capture asked, no sizes reported');
  } finally {
    await rt.stop();
    fs.rmSync(path.dirname(captureDir), { recursive: true, force: true });
  }
});

test('rehearse() (run by each zygote spare) serves one request and leaves no file, module, sys.path entry or cwd change behind', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ol-rehearsal-'));
  const script = [
    'import json, os, sys',
    'import ol_runtime',
    'before = (list(sys.path), set(sys.modules), os.getcwd(), ol_runtime._capture_dir)',
    `ol_runtime.rehearse(${JSON.stringify(path.join(work, 'r'))})`,
    'after = (list(sys.path), set(sys.modules), os.getcwd(), ol_runtime._capture_dir)',
    'print(json.dumps({"path": before[0] == after[0], "new_modules": sorted(after[1] - before[1]), "cwd": before[2] == after[2],',
    '                  "capture": after[3], "cached": ol_runtime._libc is not None}))',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-B', '-c', script], { cwd: path.dirname(RUNTIME_PY), encoding: 'utf8', env: {} });
  try {
    assert.equal(r.status, 0, r.stderr);
    const seen = JSON.parse(r.stdout);
    // The request went through the capture path: its lazily imported ctypes and libc handle are set up now
    // (what a spare should have ready); the throwaway function's module is gone.
    const { new_modules: modules, ...rest } = seen;
    assert.deepEqual(rest, { path: true, cwd: true, capture: null, cached: true });
    assert.deepEqual(modules.filter((m: string) => !/^(_?ctypes|ctypes\.|_?struct)$|^ctypes\./.test(m)), []);
    assert.deepEqual(fs.readdirSync(work), [], 'rehearsal files left');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
