import type { CgroupUsage, UsageWindow } from '../extension-points/cgroup-driver';

/**
 * Keeps a cgroup's open usage window readable until the cgroup goes. A run
 * that kills its instance (timeout, OOM) has the cgroup removed before the
 * meter calls finish(), and a removed cgroup's counters are gone: a driver's
 * destroy() calls settle() before it removes the directory, which reads the
 * figures then (the members are dead, so they are final), and the window's
 * finish() returns what was read. Figures are read once either way.
 */
export class UsageWindowSlot {
  private open?: { window: UsageWindow; result?: Promise<CgroupUsage> };

  /** The driver's window, wrapped so that settle() can read it early. */
  track(window: UsageWindow): UsageWindow {
    const entry: { window: UsageWindow; result?: Promise<CgroupUsage> } = { window };
    this.open = entry;
    return {
      finish: () => {
        if (this.open === entry) this.open = undefined;
        return (entry.result ??= window.finish());
      },
    };
  }

  /** Reads the open window's figures now, because the cgroup is about to be removed. Never throws. */
  async settle(): Promise<void> {
    const entry = this.open;
    if (!entry) return;
    entry.result ??= entry.window.finish();
    await entry.result.catch(() => undefined);
  }
}
