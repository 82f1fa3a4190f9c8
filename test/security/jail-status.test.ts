// Every thread of every sandbox process runs under a seccomp filter, with
// no_new_privs and no capabilities at all, as the kernel reports it.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { attackWorker, type AttackWorker } from './attack-kit';

let a: AttackWorker;

before(async () => {
  a = await attackWorker({
    // Leaves a thread, a forked child and a grandchild running after the call.
    spawner: `
import subprocess, threading
threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
globals()['child'] = subprocess.Popen(['/usr/bin/python3', '-c', 'import os, time\\nif os.fork() == 0: time.sleep(60)\\ntime.sleep(60)'])
time.sleep(0.3)
return 'spawned'`,
  });
});
after(async () => a?.stop());

interface Task {
  pid: string;
  tid: string;
  fields: Record<string, string>;
}

/** Every thread of every process in the worker's cgroup subtree that lives in another pid namespace (the sandboxes). */
function sandboxTasks(scope: string): { tasks: Task[]; outside: string[] } {
  const hostPidNs = fs.readlinkSync('/proc/self/ns/pid');
  const tasks: Task[] = [];
  const outside: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (!fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(scope)) continue;
      if (fs.readlinkSync(`/proc/${pid}/ns/pid`) === hostPidNs) {
        outside.push(fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
        continue;
      }
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
        const status = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
        const fields = Object.fromEntries(status.split('\n').filter(Boolean).map((l) => [l.split(':')[0], l.slice(l.indexOf(':') + 1).trim()]));
        tasks.push({ pid, tid, fields });
      }
    } catch {
      // exited meanwhile
    }
  }
  return { tasks, outside };
}

test('every thread of every sandbox process: Seccomp 2 (filter), NoNewPrivs 1, all five capability sets empty', async () => {
  assert.equal(await a.run('spawner'), 'spawned');
  const { tasks, outside } = sandboxTasks(a.w.worker.paths.scope);
  // init, runtime (2+ threads), child, grandchild
  assert.ok(new Set(tasks.map((t) => t.pid)).size >= 4, `only ${tasks.length} tasks: ${tasks.map((t) => t.fields.Name).join(' ')}`);
  assert.ok(tasks.some((t) => t.pid !== t.tid), 'a thread other than the main one was checked');
  for (const t of tasks) {
    const where = `${t.fields.Name} pid ${t.pid} tid ${t.tid}`;
    assert.equal(t.fields.Seccomp, '2', where);
    assert.equal(t.fields.NoNewPrivs, '1', where);
    for (const cap of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.equal(t.fields[cap], '0000000000000000', `${where} ${cap}`);
  }
  // The only process of the cgroup outside the sandbox is its launcher, which supervises from the host's namespaces.
  assert.deepEqual([...new Set(outside)], outside.length ? ['ol-launcher'] : []);
  // The function itself runs as nobody; only the sandbox init stays uid 0, without any capability.
  const uids = new Set(tasks.filter((t) => t.fields.Name !== 'ol-launcher').map((t) => t.fields.Uid.split('\t')[0]));
  assert.ok(uids.has('65534'));
});
