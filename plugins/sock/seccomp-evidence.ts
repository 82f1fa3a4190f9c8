import * as fs from 'node:fs';

/** What the kernel's audit record says about a process seccomp killed. */
export interface SeccompKill {
  syscall: number;
  /** Audit architecture, hex (c000003e: x86_64). */
  arch: string;
  pid: number;
  comm: string;
  /** The raw record, as evidence. */
  line: string;
}

/** Audit type of SECCOMP records (AUDIT_SECCOMP), logged for kill actions unless /proc/sys/kernel/seccomp/actions_logged says otherwise. */
const AUDIT_SECCOMP = /type=1326 .*?\bpid=(\d+) .*?comm="([^"]*)".*?\bsig=(\d+) arch=([0-9a-f]+) syscall=(\d+)/;
const SIGSYS = 31;
/** Slack on the window: kmsg stamps use the kernel's local clock, close to but not exactly CLOCK_MONOTONIC. */
const SLACK_US = 2_000_000n;

/**
 * The latest seccomp kill in the kernel log (/dev/kmsg) of one of `pids`, or
 * of any process during [sinceUs, now] (a child the function forked has a pid
 * the worker never saw). Reads the ring buffer without blocking; undefined
 * when the record is missing (rate-limited, not logged, no access).
 */
export function findSeccompKill(pids: number[], sinceUs: bigint): SeccompKill | undefined {
  let found: SeccompKill | undefined;
  for (const { stampUs, text } of readKmsg()) {
    const m = AUDIT_SECCOMP.exec(text);
    if (!m || Number(m[3]) !== SIGSYS) continue;
    const pid = Number(m[1]);
    if (!pids.includes(pid) && stampUs + SLACK_US < sinceUs) continue;
    found = { pid, comm: m[2], arch: m[4], syscall: Number(m[5]), line: text.slice(text.indexOf('type=1326')) };
  }
  return found;
}

/** CLOCK_MONOTONIC in microseconds, comparable with kmsg stamps. */
export function monotonicUs(): bigint {
  return process.hrtime.bigint() / 1000n;
}

function* readKmsg(): Generator<{ stampUs: bigint; text: string }> {
  let fd: number;
  try {
    fd = fs.openSync('/dev/kmsg', fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    return;
  }
  const buf = Buffer.alloc(8192);
  try {
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        // EPIPE: records were overwritten while reading; the next read continues after them.
        if ((e as NodeJS.ErrnoException).code === 'EPIPE') continue;
        return; // EAGAIN: the end of the buffer
      }
      if (n <= 0) return;
      const record = buf.subarray(0, n).toString('utf8');
      const semi = record.indexOf(';');
      const stamp = record.slice(0, semi).split(',')[2];
      yield { stampUs: BigInt(/^\d+$/.test(stamp ?? '') ? stamp : '0'), text: record.slice(semi + 1).split('\n')[0] };
    }
  } finally {
    fs.closeSync(fd);
  }
}
