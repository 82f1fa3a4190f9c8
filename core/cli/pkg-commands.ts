import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { readFunctionConfig } from '../functions/read-function-config';
import { adminRequest, printResponse, type AdminResponse } from './admin-client';
import { DEFAULT_DIR } from './worker-commands';

const LOCK_FILE = 'ol.lock';

/**
 * `ol pkg ...`: lock files and the package store. Resolution happens in the
 * running worker (over its admin socket), so a lock is made with exactly the
 * worker's indexes, interpreter tags and markers, and the CLI needs no
 * package plugin of its own.
 */
export function addPkgCommands(program: Command): void {
  const pkg = program.command('pkg').description("Python packages: lock files and the worker's package store");
  pkg
    .command('lock <functionDir>')
    .description('resolve the function\'s requirements (requirements.txt, ol.yaml, # ol-install:) and write <functionDir>/ol.lock')
    .option('-p, --path <dir>', 'worker dir (the worker resolves, with its indexes and Python)', DEFAULT_DIR)
    .action(async (dir: string, o) => {
      const config = readFunctionConfig(path.resolve(dir), path.basename(path.resolve(dir)));
      if (!config.packages.length) throw new Error(`${dir} declares no packages (requirements.txt, ol.yaml packages, or # ol-install:); there is nothing to lock`);
      const res = await adminRequest(o.path, 'POST', '/packages/lock', JSON.stringify({ requirements: config.packages }), { 'content-type': 'application/json' });
      writeLock(res, path.join(dir, LOCK_FILE));
    });
  pkg
    .command('report <name>')
    .description('what the worker resolved for a function; --write freezes it as ol.lock in a function dir')
    .option('-p, --path <dir>', 'worker dir', DEFAULT_DIR)
    .option('-w, --write <functionDir>', 'write the reported set to <functionDir>/ol.lock')
    .action(async (name: string, o) => {
      const res = await adminRequest(o.path, 'GET', `/packages/functions/${encodeURIComponent(name)}`);
      if (res.status >= 400 || !o.write) return printResponse(res);
      writeLock({ ...res, body: Buffer.from(JSON.stringify(JSON.parse(res.body.toString('utf8')).lock)) }, path.join(o.write, LOCK_FILE));
    });
  pkg
    .command('store')
    .description('the package store: budget, usage, installed versions and whether they are in use')
    .option('-p, --path <dir>', 'worker dir', DEFAULT_DIR)
    .action(async (o) => printResponse(await adminRequest(o.path, 'GET', '/packages')));
}

function writeLock(res: AdminResponse, file: string): void {
  if (res.status >= 400) return printResponse(res);
  const lock = JSON.parse(res.body.toString('utf8')) as { packages: { name: string; version: string }[] };
  fs.writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
  process.stdout.write(`wrote ${file}:\n${lock.packages.map((p) => `  ${p.name}==${p.version}`).join('\n')}\n`);
}
