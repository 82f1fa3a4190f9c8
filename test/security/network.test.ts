// Attacks on the worker's endpoints and on other instances over the network
// or Unix sockets, and on their environment: real functions, real worker.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { attackWorker, type AttackWorker } from './attack-kit';

let a: AttackWorker;

/** The host's own addresses (loopback and every interface): what an instance must not reach the worker on. */
function hostAddresses(): string[] {
  const all = Object.values(os.networkInterfaces()).flat().filter((i) => i && i.family === 'IPv4').map((i) => i!.address);
  return [...new Set(['127.0.0.1', ...all])];
}

before(async () => {
  a = await attackWorker({
    'reach-worker-port': `
out = {}
for host in event['hosts']:
    s = socket.socket(); s.settimeout(2)
    out[host] = attempt(s.connect, (host, event['port'])); s.close()
return out`,
    'reach-admin-socket': `
out = {}
for p in event['paths']:
    s = socket.socket(socket.AF_UNIX); s.settimeout(2)
    out[p] = attempt(s.connect, p); s.close()
# Abstract Unix sockets live in the network namespace: the worker's would be reachable only in a shared one.
s = socket.socket(socket.AF_UNIX)
out['abstract'] = attempt(s.connect, '\\0ol-abstract-probe')
return out`,
    listener: `
# Listens on loopback TCP and an abstract Unix socket, then reports which pids it can see.
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', 7777)); s.listen()
u = socket.socket(socket.AF_UNIX); u.bind('\\0ol-attack-listener'); u.listen()
globals()['keep'] = (s, u)
return 'listening'`,
    'reach-other-instance': `
t = socket.socket(); t.settimeout(2)
u = socket.socket(socket.AF_UNIX); u.settimeout(2)
out = {'tcp': attempt(t.connect, ('127.0.0.1', 7777)), 'abstract': attempt(u.connect, '\\0ol-attack-listener')}
out['socket_file'] = attempt(socket.socket(socket.AF_UNIX).connect, event['other_socket'])
out['sandboxes_dir'] = os.path.exists(event['sandboxes'])
return out`,
    'read-other-env': `
found = []
for pid in [p for p in os.listdir('/proc') if p.isdigit()]:
    try:
        if b'VICTIM_SECRET' in open(f'/proc/{pid}/environ', 'rb').read():
            found.append(pid)
    except OSError:
        pass
return {'found': found, 'by_host_pid': attempt(lambda: open(f"/proc/{event['victim']}/environ", 'rb').read()), 'own_env': sorted(os.environ)}`,
    victim: `return os.getpid()`,
  }, [], { victim: 'environment:\n  VICTIM_SECRET: "s3cret-value"\n' });
});
after(async () => a?.stop());

test("reach the worker's public TCP port: refused or unreachable on every host address", async () => {
  const r = await a.run('reach-worker-port', { hosts: hostAddresses(), port: a.w.worker.port });
  for (const [host, got] of Object.entries(r)) assert.match(String(got), /^(ECONNREFUSED|ENETUNREACH|EHOSTUNREACH|timeout|TimeoutError)$/, `${host}: ${got}`);
});

test("reach the worker's admin socket: not in the sandbox's filesystem, nor in its network namespace", async () => {
  const admin = a.w.worker.paths.adminSocket;
  const r = await a.run('reach-admin-socket', { paths: [admin, path.join('/host', '..', admin)] });
  assert.equal(r[admin], 'ENOENT');
  assert.equal(r.abstract, 'ECONNREFUSED');
});

test("reach another instance's sockets: its loopback, abstract and socket-file endpoints are all out of reach", async () => {
  assert.equal(await a.run('listener'), 'listening');
  const sandboxes = a.w.worker.paths.sandboxes;
  const listenerSocket = fs.readdirSync(sandboxes).map((id) => path.join(sandboxes, id, 'scratch', 'ol.sock')).find((p) => fs.existsSync(p))!;
  const r = await a.run('reach-other-instance', { other_socket: listenerSocket, sandboxes });
  assert.equal(r.tcp, 'ECONNREFUSED');
  assert.equal(r.abstract, 'ECONNREFUSED');
  assert.equal(r.socket_file, 'ENOENT');
  assert.equal(r.sandboxes_dir, false);
});

test("read another function's environment: invisible by any pid", async () => {
  await a.run('victim');
  let victim = 0;
  for (const p of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (fs.readFileSync(`/proc/${p}/environ`, 'utf8').includes('VICTIM_SECRET=')) victim = Number(p);
    } catch {
      // exited
    }
  }
  assert.ok(victim > 0, 'the victim runs');
  const r = await a.run('read-other-env', { victim });
  assert.deepEqual(r.found, []);
  assert.match(r.by_host_pid, /^(ENOENT|EACCES)$/);
  assert.ok(!r.own_env.includes('VICTIM_SECRET'));
});
