import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

/**
 * What the running kernel's config says about quota support, when it exposes
 * its config (/proc/config.gz or /boot/config-<release>). ext4 project quotas
 * need CONFIG_QUOTA and CONFIG_QFMT_V2; xfs needs CONFIG_XFS_QUOTA.
 */
export function missingQuotaOptions(): string[] | null {
  const text = kernelConfig();
  if (text === null) return null;
  const has = (opt: string) => new RegExp(`^${opt}=(y|m)$`, 'm').test(text);
  const missing: string[] = [];
  if (!has('CONFIG_QUOTA')) missing.push('CONFIG_QUOTA');
  if (!has('CONFIG_QFMT_V2')) missing.push('CONFIG_QFMT_V2 (ext4)');
  if (!has('CONFIG_XFS_QUOTA')) missing.push('CONFIG_XFS_QUOTA (xfs)');
  return missing;
}

function kernelConfig(): string | null {
  try {
    return zlib.gunzipSync(fs.readFileSync('/proc/config.gz')).toString();
  } catch {
    try {
      return fs.readFileSync(`/boot/config-${fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}`, 'utf8');
    } catch {
      return null;
    }
  }
}

/** The error a host without project quota support gets at start. */
export function noQuotaSupport(detail: string): string {
  const missing = missingQuotaOptions();
  const kernel = missing === null ? 'the kernel may lack CONFIG_QUOTA (with CONFIG_QFMT_V2 for ext4, CONFIG_XFS_QUOTA for xfs)' : missing.length ? `this kernel was built without ${missing.join(', ')}` : 'the kernel has quota support';
  return `project quotas do not work here: ${detail}; ${kernel}. Use a kernel with CONFIG_QUOTA and CONFIG_QFMT_V2 (ext4) or CONFIG_XFS_QUOTA (xfs), or the quota-loopfs plugin, which needs no kernel quota support`;
}
