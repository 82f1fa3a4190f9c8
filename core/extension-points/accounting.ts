import { defineExtensionPoint } from '../plugin/extension-point';

/** What one invocation used, read from its sandbox's cgroup. */
export interface UsageRecord {
  requestId: string;
  function: string;
  owner: string;
  wallMs: number;
  cpuUserMs?: number;
  cpuSystemMs?: number;
  memoryPeakBytes?: number;
  outcome: string;
}

/**
 * Receives usage records. Combination: `parallel`: every accounting plugin
 * gets every record (one may store it, another export it); `record` must not
 * block the request path.
 */
export interface Accounting {
  record(usage: UsageRecord): void;
}

export const AccountingPoint = defineExtensionPoint<Accounting>({
  id: 'Accounting',
  combine: 'parallel',
  optional: true,
  compose: (sinks) => ({
    record(usage) {
      for (const s of sinks) s.record(usage);
    },
  }),
});
