import { execFile } from 'node:child_process';

/**
 * Runs a host tool (ip, nft, mkfs...); a failure names the command, its exit
 * and its stderr, and a missing tool says how to install it (`hint`). Exit
 * codes in `okCodes` count as success (e.g. "already gone" on cleanup).
 */
export function runTool(cmd: string, args: string[], hint: string, okCodes: number[] = [0]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 120_000 }, (err, stdout, stderr) => {
      if (!err || okCodes.includes(Number((err as { code?: unknown }).code))) return resolve(stdout);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return reject(new Error(`${cmd} is not installed: ${hint}`));
      reject(new Error(`${cmd} ${args.join(' ')} failed (${err.message.split('\n')[0]}): ${String(stderr).trim() || String(stdout).trim()}`));
    });
  });
}
