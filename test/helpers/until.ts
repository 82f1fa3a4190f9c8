import * as assert from 'node:assert/strict';

/** Polls a value the test observes (a cgroup file while a request runs) until it reads `want`, or fails after `ms`. */
export async function until(read: () => string, want: string, ms = 5000, everyMs = 10): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    let got = '';
    try {
      got = read();
    } catch {}
    if (got === want) return;
    if (Date.now() > end) assert.fail(`still ${got}, expected ${want}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
