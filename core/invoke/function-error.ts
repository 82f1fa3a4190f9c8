import type { FailureKind, InvocationFailure } from './invocation';

/**
 * The `errorType` a caller sees for a failure that is not a Python exception
 * (those keep their class name): stable names in the spirit of AWS Lambda's
 * `Runtime.*` / `Sandbox.*`, so clients can branch on them.
 */
const ERROR_TYPES: Partial<Record<FailureKind, string>> = {
  timeout: 'Sandbox.Timeout',
  oom: 'Sandbox.OutOfMemory',
  pids: 'Sandbox.TooManyProcesses',
  signal: 'Sandbox.Signal',
  'blocked-syscall': 'Sandbox.BlockedSyscall',
  crashed: 'Runtime.ExitError',
  'bad-return': 'Runtime.BadReturnValue',
};

export function errorType(f: InvocationFailure): string {
  if (f.type && (f.kind === 'exception' || f.kind === 'load' || f.kind === 'exit')) return f.type;
  return ERROR_TYPES[f.kind] ?? f.type ?? 'Runtime.Unknown';
}

/** Header present only on answers where the *function* failed (not the worker: those are 4xx/5xx without it). */
export const FUNCTION_ERROR_HEADER = 'X-OL-Function-Error';

/**
 * The body of a failed invocation: `{errorType, errorMessage, requestId,
 * errorKind, stackTrace?, debug}` at the top (what the issue and Lambda
 * clients expect), and `error: {code, ...}` for clients of the first API.
 */
export function functionErrorBody(fnName: string, requestId: string, f: InvocationFailure): object {
  return {
    errorType: errorType(f),
    errorMessage: f.message,
    requestId,
    errorKind: f.kind,
    ...(f.traceback ? { stackTrace: f.traceback.trimEnd().split('\n') } : {}),
    ...(f.advice ? { advice: f.advice } : {}),
    debug: `/debug/${fnName}/${requestId}/error (on the admin socket; \`ol logs ${fnName} ${requestId}\`)`,
    error: { code: f.kind, ...f, kind: undefined, request_id: requestId },
  };
}
