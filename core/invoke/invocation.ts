/** One call of a function, as the worker hands it to a scheduler and a sandbox. */
export interface Invocation {
  requestId: string;
  /** The raw JSON body (already checked to parse). */
  body: Buffer;
  method: string;
  /** cgroup v2 keys this request sets on the instance serving it (X-OL-Cgroup), checked against the operator's policy; restored after it. */
  cgroup?: Record<string, string>;
}

/** Why an invocation did not return a value. Each kind maps to one HTTP status (see core/http/failure-status.ts). */
export type FailureKind =
  | 'exception' // the function raised
  | 'load' // the function's code could not be loaded (syntax error, missing handler, import error)
  | 'bad-return' // the return value is not JSON-serialisable
  | 'exit' // the function called sys.exit()
  | 'timeout' // the wall-clock limit passed; the instance was killed
  | 'oom' // the kernel killed the instance for exceeding its memory limit
  | 'pids' // the instance hit its process limit and died or failed
  | 'signal' // the instance was killed by a signal
  | 'blocked-syscall' // the seccomp filter killed the instance for a forbidden system call (SIGSYS)
  | 'crashed'; // the instance exited for another reason

export interface InvocationFailure {
  kind: FailureKind;
  message: string;
  /** Python exception class, for exception/load. */
  type?: string;
  traceback?: string;
  signal?: string;
  /** For blocked-syscall: the system call's name (or `syscall N` when no table names it). */
  syscall?: string;
  /** What the kernel or the runtime recorded that led to this diagnosis, one fact a line. */
  evidence?: string[];
  /** What the function's author can do about it. */
  advice?: string;
}

/** What one invocation wrote to fds 1 and 2 (its own, C extensions', child processes'), bounded by the backend. */
export interface CapturedOutput {
  stdout: string;
  stderr: string;
  /** Bytes written before bounding. */
  stdoutBytes: number;
  stderrBytes: number;
  /** Whether the middle of a stream was cut out (a marker says where). */
  truncated: boolean;
}

/** What one invocation used, as far as the backend could measure it. */
export interface InvocationUsage {
  /** Time in the sandbox, from sending the request to the answer (or the death). */
  runMs: number;
  /** Time spent creating a sandbox for this invocation (cold start), if one was created. */
  coldStartMs?: number;
  cpuUsec?: number;
  /** Peak memory of the instance (its cgroup's high-water mark). */
  memoryPeakBytes?: number;
  memoryLimitBytes?: number;
  /** The rest of what the sandbox's cgroup tells about this invocation (see CgroupUsage). */
  cpuUserUsec?: number;
  cpuSystemUsec?: number;
  memoryPeakScope?: 'invocation' | 'instance';
  ioReadBytes?: number;
  ioWriteBytes?: number;
  cpuThrottledUsec?: number;
}

/** Output and usage travel with either kind of outcome, when the backend captured them. */
export interface OutcomeExtras {
  output?: CapturedOutput;
  usage?: InvocationUsage;
}

export type InvocationOutcome =
  | ({ ok: true; body: Buffer; contentType: string } & OutcomeExtras)
  | ({ ok: false; failure: InvocationFailure } & OutcomeExtras);
