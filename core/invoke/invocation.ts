/** One call of a function, as the worker hands it to a scheduler and a sandbox. */
export interface Invocation {
  requestId: string;
  /** The raw JSON body (already checked to parse). */
  body: Buffer;
  method: string;
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
  | 'crashed'; // the instance exited for another reason

export interface InvocationFailure {
  kind: FailureKind;
  message: string;
  /** Python exception class, for exception/load. */
  type?: string;
  traceback?: string;
  signal?: string;
}

export type InvocationOutcome =
  | { ok: true; body: Buffer; contentType: string }
  | { ok: false; failure: InvocationFailure };
