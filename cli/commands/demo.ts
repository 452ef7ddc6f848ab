import type { Command } from 'commander';
import { DEMO_SPEC } from '../demo';
import { formatSummary } from '../follow';
import { printResult } from '../io';
import { runOnEmbeddedStack } from '../run';

export function register(program: Command): void {
  program
    .command('demo')
    .description('run a k-async MNIST MLP job (P=4, K=2) on an embedded local stack and summarize it')
    .option('--json', 'print the summary as one JSON object on the last line')
    .action(async (opts: { json?: boolean }) => {
      const summary = await runOnEmbeddedStack(DEMO_SPEC, { progress: !opts.json });
      printResult(summary, opts.json, () => formatSummary(summary));
    });
}
