import * as fs from 'node:fs';
import type { Command } from 'commander';
import { adminRequest, printResponse } from './admin-client';
import { DEFAULT_DIR } from './worker-commands';

/**
 * `ol secret put|get|list|rm|audit`, through the admin socket (the
 * secret-grants plugin serves the routes). A value is read from stdin or a
 * file, never from the command line, where `ps` would show it.
 */
export function addSecretCommands(program: Command): void {
  const secret = program.command('secret').description("manage a worker's secrets (values go in, never come out)");
  secret
    .command('put <name>')
    .description('store a secret read from stdin (or --from-file); one trailing newline is dropped')
    .option('-p, --path <dir>', 'worker dir', DEFAULT_DIR)
    .option('-f, --from-file <file>', 'read the value from this file instead of stdin')
    .option('--keep-newline', 'keep a trailing newline in the value')
    .action(async (name: string, o) => {
      let value = o.fromFile ? fs.readFileSync(o.fromFile) : await readStdin();
      if (!o.keepNewline) value = dropNewline(value);
      printResponse(await adminRequest(o.path, 'PUT', `/secrets/${encodeURIComponent(name)}`, value, { 'content-type': 'application/octet-stream' }));
    });
  secret
    .command('get <name>')
    .description('whether a secret is stored, its size and the roles that grant it (never its value)')
    .option('-p, --path <dir>', 'worker dir', DEFAULT_DIR)
    .action(async (name: string, o) => printResponse(await adminRequest(o.path, 'GET', `/secrets/${encodeURIComponent(name)}`)));
  secret
    .command('list')
    .alias('ls')
    .description('names of the stored secrets')
    .option('-p, --path <dir>', 'worker dir', DEFAULT_DIR)
    .action(async (o) => printResponse(await adminRequest(o.path, 'GET', '/secrets')));
  secret
    .command('rm <name>')
    .description('remove a secret (instances holding a copy are retired)')
    .option('-p, --path <dir>', 'worker dir', DEFAULT_DIR)
    .action(async (name: string, o) => printResponse(await adminRequest(o.path, 'DELETE', `/secrets/${encodeURIComponent(name)}`)));
  secret
    .command('audit')
    .description('the latest uses and refusals of secrets')
    .option('-p, --path <dir>', 'worker dir', DEFAULT_DIR)
    .option('--function <name>', 'only this function')
    .option('--secret <name>', 'only this secret')
    .option('-n, --limit <n>', 'how many records', '100')
    .action(async (o) => {
      const q = new URLSearchParams({ limit: o.limit, ...(o.function ? { function: o.function } : {}), ...(o.secret ? { secret: o.secret } : {}) });
      printResponse(await adminRequest(o.path, 'GET', `/secret-audit?${q}`));
    });
}

async function readStdin(): Promise<Buffer> {
  if (process.stdin.isTTY) process.stderr.write('value (end with Ctrl-D): ');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function dropNewline(b: Buffer): Buffer {
  let end = b.length;
  if (end && b[end - 1] === 0x0a) end--;
  if (end && b[end - 1] === 0x0d) end--;
  return b.subarray(0, end);
}
