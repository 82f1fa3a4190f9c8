// Tests of the N-API addon native/build/ol_fdpass.node: real fds crossing a
// real Unix socket into a Python process (what the zygote fork server does).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { fdPassing } from '../../plugins/sock/fd-passing';

const PY = '/usr/bin/python3';

/** A Python server that receives fds and answers with what each one is (fstat), as one JSON line. */
const SERVER = `
import json, os, socket, stat, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 65536, 32)
out = []
for fd in fds:
    st = os.fstat(fd)
    kind = "dir" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other"
    out.append({"kind": kind, "ino": st.st_ino, "target": os.readlink(f"/proc/self/fd/{fd}")})
c.sendall((json.dumps({"payload": msg.decode(), "fds": out}) + "\\n").encode())
if len(sys.argv) > 2: c.sendall(b"never read\\n")
`;

async function server(sock: string): Promise<cp.ChildProcess> {
  const child = cp.spawn(PY, ['-c', SERVER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(child.stdout!, 'data');
  assert.match(String(line), /listening/);
  return child;
}

test('request() sends a directory fd and a file fd that the peer can use, and returns its answer line', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdpass-'));
  const sock = path.join(dir, 's');
  const file = path.join(dir, 'f.txt');
  fs.writeFileSync(file, 'x');
  const child = await server(sock);
  const dfd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  const ffd = fs.openSync(file, 'r');
  try {
    const answer = JSON.parse((await fdPassing().request(sock, Buffer.from('hello'), [dfd, ffd], 5000)).toString());
    assert.equal(answer.payload, 'hello');
    assert.deepEqual(answer.fds.map((f: any) => f.kind), ['dir', 'file']);
    assert.equal(answer.fds[0].ino, fs.statSync(dir).ino);
    assert.equal(answer.fds[1].target, file);
    // Ours stay open and usable: the kernel duplicated them into the message.
    assert.equal(fs.fstatSync(ffd).ino, fs.statSync(file).ino);
  } finally {
    fs.closeSync(dfd);
    fs.closeSync(ffd);
    child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('request() rejects with a clear message when nobody listens, and with ETIMEDOUT when the peer never answers', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdpass-'));
  await assert.rejects(fdPassing().request(path.join(dir, 'none'), Buffer.from('x'), [], 1000), /connect .*none: No such file or directory/);
  const sock = path.join(dir, 'mute');
  const mute = cp.spawn(PY, ['-c', 'import socket,sys,time\ns=socket.socket(socket.AF_UNIX);s.bind(sys.argv[1]);s.listen(1);print("listening",flush=True);c,_=s.accept();time.sleep(30)', sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(mute.stdout!, 'data');
  try {
    const started = Date.now();
    await assert.rejects(fdPassing().request(sock, Buffer.from('x'), [], 300), (e: any) => e.code === 'ETIMEDOUT');
    assert.ok(Date.now() - started < 3000);
  } finally {
    mute.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('pidfdOpen and pidfdSendSignal signal the right process', async () => {
  const child = cp.spawn('/bin/sleep', ['30']);
  const exited = once(child, 'exit');
  const pidfd = fdPassing().pidfdOpen(child.pid!);
  fdPassing().pidfdSendSignal(pidfd, os.constants.signals.SIGTERM);
  const [, signal] = await exited;
  assert.equal(signal, 'SIGTERM');
  fs.closeSync(pidfd);
  assert.throws(() => fdPassing().pidfdOpen(2 ** 22 + 7), /pidfd_open/);
});
