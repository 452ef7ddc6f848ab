import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { KasyncError, ValidationError } from '../engine/errors';
import { DEMO_SPEC } from './demo';
import { formatSummary } from './follow';
import { runOnEmbeddedStack } from './run';

/** `--json` output: one JSON object on the last line of stdout, nothing after it. */
function printResult(value: object, json: boolean, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${human()}\n`);
}

async function readSpec(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ValidationError('(spec)', `${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
}

export function buildCli(): Command {
  const program = new Command('kasync')
    .description('Serverless asynchronous SGD: K-async training on Lambda, S3 and DynamoDB')
    .showHelpAfterError();

  program
    .command('demo')
    .description('run a k-async MNIST MLP job (P=4, K=2) on an embedded local stack and summarize it')
    .option('--json', 'print the summary as one JSON object on the last line')
    .action(async (opts: { json?: boolean }) => {
      const summary = await runOnEmbeddedStack(DEMO_SPEC, { progress: !opts.json });
      printResult(summary, Boolean(opts.json), () => formatSummary(summary));
    });

  program
    .command('train')
    .description('run a job spec (JSON or YAML) on an embedded stack started for the run')
    .argument('<spec>', 'job spec file')
    .option('--json', 'print the summary as one JSON object on the last line')
    .addOption(new Option('--data-dir <dir>', 'keep the embedded stack data here'))
    .action(async (file: string, opts: { json?: boolean; dataDir?: string }) => {
      const summary = await runOnEmbeddedStack(await readSpec(file), { progress: !opts.json, dataDir: opts.dataDir });
      printResult(summary, Boolean(opts.json), () => formatSummary(summary));
    });

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
