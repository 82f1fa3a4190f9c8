import type { CapturedOutput } from './invocation';

/** Request header asking for the end of the invocation's output in the answer (Lambda's `LogType: Tail`). */
export const LOG_TYPE_HEADER = 'x-ol-log-type';
/** Response header carrying it, base64-encoded. */
export const LOG_RESULT_HEADER = 'X-OL-Log-Result';
/** As much as Lambda returns: the last 4 KiB. */
export const LOG_TAIL_BYTES = 4096;

/** The last LOG_TAIL_BYTES of stdout followed by stderr, base64 (headers carry ASCII only). */
export function logTail(output: CapturedOutput): string {
  const all = Buffer.from(output.stdout + output.stderr, 'utf8');
  return all.subarray(Math.max(0, all.length - LOG_TAIL_BYTES)).toString('base64');
}
