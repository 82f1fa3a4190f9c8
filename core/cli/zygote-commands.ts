import type { Command } from 'commander';
import { adminRequest } from './admin-client';
import { DEFAULT_DIR } from './worker-commands';

interface Verdict {
  package: string;
  version: string;
  suitable: boolean;
  reasons: { kind: string; unsafe: boolean; detail: string }[];
  modules: string[];
  checkedAt: string;
}

/** The verdict as a person reads it: one line, then each reason. */
export function formatVerdict(v: Verdict): string {
  const head = `${v.package}==${v.version}: ${v.suitable ? 'suitable for zygotes' : 'NOT suitable for zygotes (functions import it in their own instance)'}`;
  const lines = v.reasons.map((r) => `  ${r.unsafe ? 'unsafe' : 'note  '}  ${r.kind}: ${r.detail}`);
  if (!v.reasons.length) lines.push(`  imported ${v.modules.join(', ') || 'nothing'}: one thread, no open files, directories, sockets or pipes`);
  return [head, ...lines].join('\n') + '\n';
}

export function addZygoteCommands(program: Command): void {
  const zygote = program.command('zygote').description('zygotes: pre-imported package sets that fork new instances');
  zygote
    .command('check <package>')
    .description('whether a package (name or name==version) is safe to import in a zygote, and why (--json for the raw verdict)')
    .option('-p, --path <dir>', 'worker dir', DEFAULT_DIR)
    .option('--json', 'print the verdict as JSON')
    .action(async (spec: string, o) => {
      const res = await adminRequest(o.path, 'GET', `/zygote/suitability/${encodeURIComponent(spec)}`);
      const text = res.body.toString('utf8');
      if (res.status === 404 && !text.includes('package')) {
        throw new Error('this worker does not check zygote suitability; add zygote-suitability to plugins: in its config');
      }
      if (res.status >= 400) {
        let message = text;
        try {
          message = JSON.parse(text).error?.message ?? text;
        } catch {
          // not JSON: print as is
        }
        throw new Error(message);
      }
      const verdict = JSON.parse(text) as Verdict;
      process.stdout.write(o.json ? JSON.stringify(verdict, null, 2) + '\n' : formatVerdict(verdict));
      if (!verdict.suitable) process.exitCode = 2;
    });
}
