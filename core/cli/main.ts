#!/usr/bin/env node
import 'reflect-metadata';
import { Command } from 'commander';
import { addFunctionCommands } from './function-commands';
import { addLogsCommand } from './logs-command';
import { addPkgCommands } from './pkg-commands';
import { addSecretCommands } from './secret-commands';
import { addWorkerCommands } from './worker-commands';
import { addUsageCommand } from './usage-command';
import { addZygoteCommands } from './zygote-commands';

const program = new Command('ol').description('OL Kernel: a serverless worker for Python functions in SOCK sandboxes');
addWorkerCommands(program);
addFunctionCommands(program);
addLogsCommand(program);
addSecretCommands(program);
addPkgCommands(program);
addZygoteCommands(program);
addUsageCommand(program);

program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`ol: ${e.message}\n`);
  process.exit(1);
});
