import { Command } from 'commander';
import { KasyncError, ValidationError } from '../engine/errors';
import * as audit from './commands/audit';
import * as demo from './commands/demo';
import * as jobs from './commands/jobs';
import * as model from './commands/model';
import * as simulate from './commands/simulate';
import * as status from './commands/status';
import * as stop from './commands/stop';
import * as train from './commands/train';
import * as up from './commands/up';

/** Every command lives in `cli/commands/` and registers itself here. */
const COMMANDS: readonly { register(program: Command): void }[] = [
  demo,
  up,
  train,
  jobs,
  status,
  stop,
  model,
  audit,
  simulate,
];

export function buildCli(): Command {
  const program = new Command('kasync')
    .description('Serverless asynchronous SGD: K-async training on Lambda, S3 and DynamoDB')
    .showHelpAfterError();
  for (const command of COMMANDS) command.register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (error) {
    const message = error instanceof KasyncError ? error.message : ((error as Error).stack ?? String(error));
    process.stderr.write(`kasync: ${message}\n`);
    process.exitCode = error instanceof ValidationError ? 2 : 1;
  }
}
