import type { Command } from 'commander';
import { ValidationError } from '../../engine/errors';
import { createApp } from '../../functions/http/app';
import { serveApp } from '../../functions/http/server';
import { startEmbedded } from '../../local/kasync';

export function register(program: Command): void {
  program
    .command('up')
    .description('serve an embedded stack, the HTTP API and the dashboard on 127.0.0.1 until Ctrl-C')
    .option('--port <port>', 'port to listen on (0: any free one)', parsePort, 8080)
    .option('--data-dir <dir>', 'keep the embedded stack data here (jobs survive a restart)')
    .action(async (opts: { port: number; dataDir?: string }) => {
      process.stderr.write('starting the embedded stack...\n');
      const embedded = await startEmbedded({ dataDir: opts.dataDir });
      const served = await serveApp(createApp(embedded), opts.port).catch(async (error: unknown) => {
        await embedded.stop();
        throw error;
      });
      process.stdout.write(`kasync is up: dashboard and API at ${served.url}/ (Ctrl-C stops it)\n`);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      process.stderr.write(`\n${signal}: stopping the API and the embedded stack\n`);
      await served.close();
      await embedded.stop();
    });
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535)
    throw new ValidationError('--port', `"${value}" is not a port number`);
  return port;
}
