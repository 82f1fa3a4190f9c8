// The `egress` network policy (plugin netns-egress): a function may reach a
// (fake) internet through the worker's shared egress namespace, and nothing
// of the host, the worker, cloud metadata or the other instances. Real
// worker, real namespaces, veths and nftables, as root.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import * as tar from 'tar';
import { DEFAULT_CONFIG_FILE } from '../../core/config/load-config';
import { Worker } from '../../core/lifecycle/worker';
import { workerPaths } from '../../core/lifecycle/worker-paths';
import { egressNames, type EgressNames } from '../../plugins/netns-egress/names';
import { REPO, startWorker } from '../helpers/worker-fixture';
import { BASE_PLUGINS, ZYGOTE_PACKAGES, zygoteTestConfig } from '../helpers/zygote-config';
import { attackWorker, pluginsPlus, type AttackWorker } from './attack-kit';
import { HTTP_PORT, INTERNET_ADDRESS, METADATA_ADDRESS, hostGet, startFakeInternet, type FakeInternet } from './fake-internet';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
const WITH_PLUGIN = pluginsPlus('netns-egress');
/** Connects and GETs in parallel threads: a dropped packet costs one timeout, not one per target. */
const PROBE = `
import concurrent.futures, urllib.request
def tcp(target):
    s = socket.socket(); s.settimeout(1.5)
    try:
        return attempt(s.connect, tuple(target))
    finally:
        s.close()
def get(url):
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return [r.status, r.read().decode()]
    except Exception as e:
        return [0, f"{type(e).__name__}: {getattr(e, 'reason', e)}"]
def udp(target):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        return attempt(s.sendto, b'x', tuple(target))
    finally:
        s.close()
def unix(p):
    return attempt(socket.socket(socket.AF_UNIX).connect, p)
with concurrent.futures.ThreadPoolExecutor(16) as ex:
    tcps = ex.map(tcp, event.get('tcp', []))
    gets = ex.map(get, event.get('http', []))
    return {'tcp': dict(zip([f"{h}:{p}" for h, p in event.get('tcp', [])], tcps)),
            'http': dict(zip(event.get('http', []), gets)),
            'udp': {f"{h}:{p}": udp((h, p)) for h, p in event.get('udp', [])},
            'unix': {p: unix(p) for p in event.get('unix', [])}}`;
const LISTENER = `
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 7777)); s.listen()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('0.0.0.0', 7778))
globals()['keep'] = (s, u)
return 'listening'`;
const EGRESS = 'network: egress\n';
/** A connect that netfilter dropped in the sender's own stack (EPERM) or on the way (no answer: timeout). */
const DROPPED = /^(EPERM|TimeoutError)$/;

let inet: FakeInternet;
let a: AttackWorker;
let names: EgressNames;
let forwardingBefore: string;

/** The host's IPv4 addresses: loopback, every interface, the egress veth's host end. */
function hostAddresses(): string[] {
  const all = Object.values(os.networkInterfaces()).flat().filter((i) => i && i.family === 'IPv4').map((i) => i!.address);
  return [...new Set(['127.0.0.1', ...all])];
}

function addressOf(iface: string, netns?: string): string {
  const out = execFileSync('ip', [...(netns ? ['-n', netns] : []), '-j', '-4', 'addr', 'show', 'dev', iface], { encoding: 'utf8' });
  return JSON.parse(out)[0].addr_info[0].local;
}

/** What of a worker's egress setup exists on the host now. */
function egressObjects(n: EgressNames): string[] {
  const found: string[] = [];
  if (execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').some((l) => l.split(' ')[0] === n.netns)) found.push(`netns ${n.netns}`);
  if (fs.existsSync(`/sys/class/net/${n.hostVeth}`)) found.push(`veth ${n.hostVeth}`);
  if (execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }).includes(`table inet ${n.table}\n`)) found.push(`nft table ${n.table}`);
  return found;
}

/** After a failed test: what a worker left, by hand (the plugin's own removal is what the tests check). */
function removeEgressObjects(n: EgressNames): void {
  for (const [cmd, ...args] of [['nft', 'delete', 'table', 'inet', n.table], ['ip', 'link', 'del', n.hostVeth], ['ip', 'netns', 'del', n.netns]]) {
    try {
      execFileSync(cmd, args, { stdio: 'pipe' });
    } catch {
      // not there: fine
    }
  }
}

before(async () => {
  forwardingBefore = fs.readFileSync(IP_FORWARD, 'utf8').trim();
  inet = await startFakeInternet();
  a = await attackWorker(
    { 'egress-probe': PROBE, 'none-probe': PROBE, 'egress-listener': LISTENER },
    [WITH_PLUGIN, 'http.host=0.0.0.0'],
    { 'egress-probe': EGRESS, 'egress-listener': EGRESS },
  );
  names = egressNames(a.w.worker.paths.scope);
});
after(async () => {
  await a?.stop();
  inet?.stop();
  if (names) removeEgressObjects(names);
});

test('an egress function reaches the internet; the host (any address, its loopback, the veth), the worker and cloud metadata are out of reach', async () => {
  const port = a.w.worker.port;
  const hosts = hostAddresses();
  const vethHost = addressOf(names.hostVeth);
  assert.ok(hosts.includes(vethHost), `the veth's host end ${vethHost} is a host address`);
  // The targets are real: the host itself reaches each of them.
  for (const h of hosts) assert.equal((await hostGet(h, port, '/status')).status, 200, `the worker answers the host on ${h}`);
  const metadata = `http://${METADATA_ADDRESS}:${HTTP_PORT}/latest/meta-data/`;
  assert.equal((await hostGet(METADATA_ADDRESS, HTTP_PORT)).status, 200, 'the fake metadata service answers the host');

  const internet = `http://${INTERNET_ADDRESS}:${HTTP_PORT}/`;
  const r = await a.run('egress-probe', { http: [internet, metadata], tcp: hosts.map((h) => [h, port]), unix: [a.w.worker.paths.adminSocket] });
  assert.deepEqual(r.http[internet], [200, `hello from ${INTERNET_ADDRESS}:${HTTP_PORT}`]);
  assert.equal(r.http[metadata][0], 0, `metadata: ${r.http[metadata]}`);
  for (const h of hosts) assert.match(r.tcp[`${h}:${port}`], DROPPED, `the worker's port on ${h}`);
  assert.equal(r.unix[a.w.worker.paths.adminSocket], 'ENOENT');
});

test('a function with network none (the default) has no route to the internet', async () => {
  const internet = `http://${INTERNET_ADDRESS}:${HTTP_PORT}/`;
  const r = await a.run('none-probe', { http: [internet] });
  assert.equal(r.http[internet][0], 0);
  assert.match(r.http[internet][1], /Network is unreachable/);
});

test('instances in the shared egress namespace cannot reach each other, and nothing outside opens a connection into it', async () => {
  assert.equal(await a.run('egress-listener'), 'listening');
  // The listener really is in the shared namespace, on every address of it.
  assert.match(execFileSync('ip', ['netns', 'exec', names.netns, 'ss', '-Htln', 'sport = :7777'], { encoding: 'utf8' }), /0\.0\.0\.0:7777/);
  const inside = addressOf(names.nsVeth, names.netns);
  const r = await a.run('egress-probe', { tcp: [['127.0.0.1', 7777], [inside, 7777]], udp: [['127.0.0.1', 7778], [inside, 7778]] });
  assert.match(r.tcp['127.0.0.1:7777'], DROPPED);
  assert.match(r.tcp[`${inside}:7777`], DROPPED);
  assert.equal(r.udp['127.0.0.1:7778'], 'EPERM');
  assert.equal(r.udp[`${inside}:7778`], 'EPERM');
  // From the "internet", with a route to the namespace through the host: the SYN is dropped.
  const [inetNetns] = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('ol-test-inet-')).map((l) => l.split(' ')[0]);
  execFileSync('ip', ['-n', inetNetns, 'route', 'replace', `${inside}/32`, 'via', '198.18.0.1']);
  const from = execFileSync('ip', ['netns', 'exec', inetNetns, '/usr/bin/python3', '-c',
    `import socket\ns = socket.socket(); s.settimeout(1.5)\ntry:\n    s.connect(('${inside}', 7777)); print('connected')\nexcept OSError as e:\n    print(type(e).__name__)`], { encoding: 'utf8' }).trim();
  assert.equal(from, 'TimeoutError');
});

/** An archive of one function whose ol.yaml asks for egress. */
async function egressArchive(): Promise<Buffer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ol-egress-fn-'));
  fs.writeFileSync(path.join(dir, 'f.py'), 'def f(event):\n    return 1\n');
  fs.writeFileSync(path.join(dir, 'ol.yaml'), EGRESS);
  const chunks: Buffer[] = [];
  for await (const c of tar.c({ gzip: true, cwd: dir, portable: true }, ['f.py', 'ol.yaml']) as AsyncIterable<Buffer>) chunks.push(c);
  fs.rmSync(dir, { recursive: true, force: true });
  return Buffer.concat(chunks);
}

test('asking for egress where the operator does not allow it (or no plugin provides it) is refused at install, saying what to do', async () => {
  const archive = await egressArchive();
  const strict = await startWorker([WITH_PLUGIN, 'netns-egress.allowed=[none]']);
  try {
    const r = await strict.admin('POST', '/registry/wants-egress', archive);
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /network: egress is not allowed on this worker \(allowed: none\)/);
    assert.match(r.text, /netns-egress\.allowed/);
    assert.deepEqual(egressObjects(egressNames(strict.worker.paths.scope)), [], 'egress not allowed: no namespace made');
  } finally {
    await strict.stop();
  }
  const without = await startWorker();
  try {
    const r = await without.admin('POST', '/registry/wants-egress', archive);
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, /network: egress: this worker has no plugin that gives functions outbound network access.*netns-egress/);
  } finally {
    await without.stop();
  }
});

test('a second worker on the host gets its own namespace and subnet; what a SIGKILLed worker left is removed at its next start', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'olw-egress-'));
  const paths = workerPaths(dir);
  const second = egressNames(paths.scope);
  const overrides = ['http.port=0', 'registry-dir.dirs=[]', WITH_PLUGIN];
  try {
    execFileSync(process.execPath, [path.join(REPO, 'dist/core/cli/main.js'), 'worker', 'up', '-d', '-p', dir, ...overrides.flatMap((o) => ['-o', o])], { stdio: 'pipe' });
    assert.notEqual(second.netns, names.netns);
    assert.notEqual(addressOf(second.hostVeth), addressOf(names.hostVeth), 'each worker has its own /30');
    const pid = Number(fs.readFileSync(paths.pidFile, 'utf8'));
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && fs.existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(egressObjects(second).length, 3, 'a killed worker leaves its namespace, veth and table');
    const again = await Worker.start({ dir, configFile: DEFAULT_CONFIG_FILE, overrides, logger: pino({ level: 'silent' }) });
    assert.equal(egressObjects(second).length, 3, 'made afresh');
    await again.stop();
    assert.deepEqual(egressObjects(second), []);
  } finally {
    removeEgressObjects(second);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an egress function forked from a zygote lands in the egress namespace too', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ol-egress-zygote-'));
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, 'zegress'), { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'zegress', 'f.py'), `# ol-import: cleanpkg
import cleanpkg, urllib.request

def f(event):
    with urllib.request.urlopen(event['url'], timeout=3) as r:
        return [r.status, r.read().decode()]
`, { mode: 0o644 });
  fs.writeFileSync(path.join(dir, 'zegress', 'ol.yaml'), EGRESS, { mode: 0o644 });
  const config = zygoteTestConfig([...BASE_PLUGINS, 'zygote', 'netns-egress'], { zygote: { package_dirs: [ZYGOTE_PACKAGES], learn_after: 1, check: false } });
  const w = await startWorker([`registry-dir.dirs=[${dir}]`], config);
  try {
    const r = await w.run('zegress', { url: `http://${INTERNET_ADDRESS}:${HTTP_PORT}/` });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, [200, `hello from ${INTERNET_ADDRESS}:${HTTP_PORT}`]);
    const [node] = (await w.admin('GET', '/zygote/tree')).json.zygotes;
    assert.equal(node.forks, 1, 'the instance was forked from the zygote');
  } finally {
    await w.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('worker stop removes the namespace, the veth and the nftables table, and restores IPv4 forwarding', async () => {
  assert.equal(egressObjects(names).length, 3);
  await a.stop();
  a = undefined as unknown as AttackWorker;
  assert.deepEqual(egressObjects(names), []);
  assert.equal(fs.readFileSync(IP_FORWARD, 'utf8').trim(), forwardingBefore);
});
