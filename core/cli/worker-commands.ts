import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { DEFAULT_CONFIG_FILE } from '../config/load-config';
import { isAlive, livePid } from '../lifecycle/pid-file';
import { Worker } from '../lifecycle/worker';
import { workerPaths } from '../lifecycle/worker-paths';
import { adminRequest, printResponse } from './admin-client';

export const DEFAULT_DIR = 'default-ol';

const collect = (v: string, acc: string[]) => [...acc, v];

export function addWorkerCommands(program: Command): void {
  const worker = program.command('worker').description('start, stop and inspect a worker');

  worker
    .command('init')
    .description('create a worker dir with a config.yaml to edit (a copy of the default config)')
    .option('-p, --path <dir>', 'worker dir', DEFAULT_DIR)
    .action((o) => {
      const paths = workerPaths(o.path);
      fs.mkdirSync(paths.root, { recursive: true, mode: 0o700 });
      if (fs.existsSync(paths.configFile)) throw new Error(`${paths.configFile} already exists; edit it or remove it first`);
      fs.copyFileSync(DEFAULT_CONFIG_FILE, paths.configFile);
      console.log(`created ${paths.configFile}`);
    });

  worker
    .command('up')
    .description('start a worker (in the foreground, or detached with -d)')
    .option('-p, --path <dir>', 'worker dir', DEFAULT_DIR)
    .option('-d, --detach', 'run in the background; return once the worker answers')
    .option('-o, --option <key=value>', 'override a config key (repeatable), e.g. -o limits.defaults.mem_mb=256', collect, [])
    .action(async (o) => (o.detach ? upDetached(o.path, o.option) : upForeground(o.path, o.option)));

  worker
    .command('down')
    .description('stop a worker; leaves no processes, mounts or cgroups behind')
    .option('-p, --path <dir>', 'worker dir', DEFAULT_DIR)
    .action(async (o) => down(o.path));

  worker
    .command('status')
    .description("show a worker's status")
    .option('-p, --path <dir>', 'worker dir', DEFAULT_DIR)
    .action(async (o) => printResponse(await adminRequest(o.path, 'GET', '/status')));
}

function configFileFor(dir: string): string {
  const own = workerPaths(dir).configFile;
  return fs.existsSync(own) ? own : DEFAULT_CONFIG_FILE;
}

async function upForeground(dir: string, overrides: string[]): Promise<void> {
  const worker = await Worker.start({ dir, configFile: configFileFor(dir), overrides, logFile: process.env.OL_LOG_FILE });
  process.send?.('ready');
  const stop = () => void worker.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Start a detached worker and wait for it to say it is ready over an IPC channel (no polling). */
async function upDetached(dir: string, overrides: string[]): Promise<void> {
  const paths = workerPaths(dir);
  fs.mkdirSync(paths.root, { recursive: true, mode: 0o700 });
  const args = [process.argv[1], 'worker', 'up', '-p', dir, ...overrides.flatMap((o) => ['-o', o])];
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', 'ignore', fs.openSync(paths.logFile, 'a'), 'ipc'],
    env: { ...process.env, OL_LOG_FILE: paths.logFile },
  });
  const ready = await new Promise<boolean>((resolve) => {
    child.once('message', (m) => resolve(m === 'ready'));
    child.once('exit', () => resolve(false));
  });
  if (!ready) {
    const tail = fs.readFileSync(paths.logFile, 'utf8').split('\n').slice(-15).join('\n');
    throw new Error(`the worker did not start; the end of ${paths.logFile}:\n${tail}`);
  }
  child.disconnect();
  child.unref();
  console.log(`worker running in ${paths.root} (pid ${child.pid}); logs in ${paths.logFile}`);
}

async function down(dir: string): Promise<void> {
  const paths = workerPaths(dir);
  const pid = livePid(paths.pidFile);
  if (!pid) {
    console.log(`no worker is running in ${paths.root}`);
    return;
  }
  process.kill(pid, 'SIGTERM');
  // A process that is not our child gives no exit event: poll with backoff.
  for (let wait = 10; isAlive(pid); wait = Math.min(wait * 2, 200)) await new Promise((r) => setTimeout(r, wait));
  console.log(`worker ${pid} stopped`);
}
