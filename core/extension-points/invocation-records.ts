import { defineExtensionPoint } from '../plugin/extension-point';
import type { CapturedOutput, FailureKind, InvocationFailure, InvocationUsage } from '../invoke/invocation';

/** Everything known about one finished invocation, for its function's owner to read later. */
export interface InvocationRecord {
  requestId: string;
  function: string;
  /** The function version that ran (registry content hash), when it was loaded. */
  version?: string;
  /** ISO time the request arrived. */
  startedAt: string;
  /** From arrival to answer: queueing, a cold start if any, and the run. */
  durationMs: number;
  /** 'ok', a FailureKind, or 'platform' when the worker could not run the function at all. */
  outcome: 'ok' | FailureKind | 'platform';
  /** The failure as the caller saw it, with the evidence and advice of the diagnosis. */
  failure?: InvocationFailure & { errorType: string };
  output?: CapturedOutput;
  usage?: InvocationUsage;
}

/**
 * Where invocation records go once the answer is sent: a debug-record store,
 * a log shipper... Combination: `parallel`: every provider receives every
 * record. `record` is called on the request path after the outcome is known,
 * so it must not block: queue the write and return.
 */
export interface InvocationRecords {
  record(rec: InvocationRecord): void;
}

export const InvocationRecordsPoint = defineExtensionPoint<InvocationRecords>({
  id: 'InvocationRecords',
  combine: 'parallel',
  optional: true,
  compose: (sinks) => ({
    record(rec) {
      for (const s of sinks) s.record(rec);
    },
  }),
});
