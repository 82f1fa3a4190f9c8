import type { StoredRecord } from './record-files';

/**
 * The human-readable explanation of a failed invocation served at
 * /debug/<fn>/<id>/error: what happened, the evidence the kernel or the
 * runtime gave, what to do, then the traceback and the end of stderr.
 */
export function errorText(rec: StoredRecord, stderr: string): string {
  const f = rec.failure!;
  const parts = [
    `request ${rec.requestId} of function ${rec.function} failed: ${f.errorType} (${rec.outcome})`,
    `at ${rec.startedAt}, after ${rec.durationMs} ms`,
    '',
    f.message,
  ];
  if (f.syscall) parts.push('', `blocked system call: ${f.syscall}`);
  if (f.signal) parts.push('', `signal: ${f.signal}`);
  if (f.evidence?.length) parts.push('', 'evidence:', ...f.evidence.map((e) => `  - ${e}`));
  if (f.advice) parts.push('', `what to do: ${f.advice}`);
  if (f.traceback) parts.push('', f.traceback.trimEnd());
  const tail = stderr.trimEnd().split('\n').slice(-20).join('\n');
  if (tail && !f.traceback) parts.push('', 'last lines of stderr:', tail);
  return parts.join('\n') + '\n';
}
