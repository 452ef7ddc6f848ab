import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ApiClient, DEFAULT_ENDPOINT, endpointOption } from '../client';
import { printResult } from '../io';

export function register(program: Command): void {
  endpointOption(program.command('model'), `kasync API (default ${DEFAULT_ENDPOINT})`)
    .description("download a job's trained model: an ONNX inference model with the latest committed weights")
    .argument('<id>', 'job id')
    .requiredOption('--out <file>', 'where to write the .onnx file')
    .option('--json', 'print what was written as one JSON object on the last line')
    .action(async (jobId: string, opts: { endpoint?: string; out: string; json?: boolean }) => {
      const { bytes, version } = await new ApiClient(opts.endpoint ?? DEFAULT_ENDPOINT).model(jobId);
      await writeFile(opts.out, bytes);
      const result = { jobId, version, file: opts.out, bytes: bytes.byteLength };
      printResult(
        result,
        opts.json,
        () => `wrote ${opts.out}: ${bytes.byteLength} bytes, weights of version ${version}`,
      );
    });
}
