#!/usr/bin/env node
import 'reflect-metadata';
import { Command } from 'commander';
import { addFunctionCommands } from './function-commands';
import { addWorkerCommands } from './worker-commands';

const program = new Command('ol').description('OL Kernel: a serverless worker for Python functions in SOCK sandboxes');
addWorkerCommands(program);
addFunctionCommands(program);

program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`ol: ${e.message}\n`);
  process.exit(1);
});
