import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import * as tar from 'tar';
import { adminRequest, printResponse } from './admin-client';
import { DEFAULT_DIR } from './worker-commands';

export function addFunctionCommands(program: Command): void {
  const admin = program.command('admin').description("manage a worker's functions");
  admin
    .command('install <source>')
    .description('upload a function directory or .tar.gz to the worker')
    .option('-p, --path <dir>', 'worker dir', DEFAULT_DIR)
    .option('-n, --name <name>', 'function name (default: the directory or archive name)')
    .option('--owner <owner>', "who is charged for it (accounting, quotas); wins over its ol.yaml's owner")
    .action(async (source: string, o) => {
      const name = o.name ?? path.basename(source).replace(/\.(tar\.gz|tgz)$/, '');
      const query = o.owner === undefined ? '' : `?owner=${encodeURIComponent(o.owner)}`;
      printResponse(await adminRequest(o.path, 'POST', `/registry/${encodeURIComponent(name)}${query}`, await archive(source), { 'content-type': 'application/gzip' }));
    });
  admin
    .command('rm <name>')
    .description('remove an uploaded function')
    .option('-p, --path <dir>', 'worker dir', DEFAULT_DIR)
    .action(async (name: string, o) => printResponse(await adminRequest(o.path, 'DELETE', `/registry/${encodeURIComponent(name)}`)));
  admin
    .command('ls')
    .description('list the functions the worker can run')
    .option('-p, --path <dir>', 'worker dir', DEFAULT_DIR)
    .action(async (o) => printResponse(await adminRequest(o.path, 'GET', '/registry')));

  program
    .command('invoke <name> [json]')
    .description('call a function through the admin socket and print its response')
    .option('-p, --path <dir>', 'worker dir', DEFAULT_DIR)
    .action(async (name: string, json: string | undefined, o) => {
      printResponse(await adminRequest(o.path, 'POST', `/run/${encodeURIComponent(name)}`, json ?? '', { 'content-type': 'application/json' }));
    });
}

async function archive(source: string): Promise<Buffer> {
  const stat = fs.statSync(source);
  if (stat.isFile()) return fs.readFileSync(source);
  const chunks: Buffer[] = [];
  const stream = tar.c({ gzip: true, cwd: source, portable: true }, fs.readdirSync(source));
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
