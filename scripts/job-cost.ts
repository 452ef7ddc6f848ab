import { createClients, storageFromEnv } from '../engine/aws';
import { costInputs, estimateCost, PRICES_USD } from '../engine/cost';
import { createStores, type Stores } from '../engine/store';
import { startEmbedded } from '../local/kasync';

/**
 * `npx tsx scripts/job-cost.ts JOB [--data-dir DIR] [--arch x86_64|arm64]`: the counters behind a
 * job's `costUsd` and the estimate per service. With --data-dir it reads a local run's data
 * (`kasync train SPEC --data-dir DIR`); without, the stack that KASYNC_BUCKET/KASYNC_TABLE and
 * the standard AWS environment name.
 */

async function main() {
  const args = process.argv.slice(2);
  const option = (name: string) => {
    const at = args.indexOf(name);
    if (at < 0) return undefined;
    const [, value] = args.splice(at, 2);
    return value;
  };
  const dataDir = option('--data-dir');
  const arch = (option('--arch') ?? 'x86_64') as keyof typeof PRICES_USD.lambdaGbSecond;
  const [jobId] = args;
  if (!jobId || !(arch in PRICES_USD.lambdaGbSecond)) {
    process.stderr.write('usage: tsx scripts/job-cost.ts JOB [--data-dir DIR] [--arch x86_64|arm64]\n');
    process.exit(2);
  }
  let stores: Stores;
  let stop = async () => {};
  if (dataDir) {
    const embedded = await startEmbedded({ dataDir });
    stores = embedded.stores;
    stop = () => embedded.stop();
  } else {
    stores = createStores(createClients(), storageFromEnv());
  }
  try {
    const learners = await stores.jobs.listLearners(jobId);
    const inputs = costInputs(learners);
    const cost = estimateCost(inputs, arch);
    process.stdout.write(
      `${JSON.stringify({ jobId, learners: learners.length, architecture: arch, prices: `${PRICES_USD.region} ${PRICES_USD.asOf}`, ...inputs, ...cost }, null, 2)}\n`,
    );
  } finally {
    await stop();
  }
}

void main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
});
