import type { Usage } from './usage';

/**
 * AWS list prices used for the cost estimate: us-east-1, on-demand, as published after
 * DynamoDB's November 2024 price cut; read 2026-11. Other regions differ by up to ~30%.
 */
export const PRICES_USD = {
  region: 'us-east-1',
  asOf: '2026-11',
  lambdaGbSecond: { x86_64: 0.0000166667, arm64: 0.0000133334 },
  lambdaRequest: 0.2 / 1e6,
  dynamoWriteUnit: 0.625 / 1e6,
  dynamoReadUnit: 0.125 / 1e6,
  s3Put: 0.005 / 1000,
  s3Get: 0.0004 / 1000,
  /** Standard storage, per GB-month; the estimate charges one month of everything written. */
  s3GbMonth: 0.023,
} as const;

export type LambdaArchitecture = keyof typeof PRICES_USD.lambdaGbSecond;

/** The architecture this process runs on, as Lambda names (and prices) it. */
export function lambdaArchitecture(): LambdaArchitecture {
  return process.arch === 'arm64' ? 'arm64' : 'x86_64';
}

export interface CostInputs extends Usage {
  readonly gbSeconds: number;
  readonly invocations: number;
}

export interface CostEstimate {
  readonly totalUsd: number;
  readonly lambdaUsd: number;
  readonly dynamoUsd: number;
  readonly s3Usd: number;
}

const cents = (usd: number) => Math.round(usd * 1e6) / 1e6;

const COST_COUNTERS = [
  'gbSeconds',
  'invocations',
  'ddbReadUnits',
  'ddbWriteUnits',
  's3Puts',
  's3Gets',
  's3BytesPut',
] as const;

/** The cost inputs of a job: its learners' counters, added up. */
export function costInputs(learners: readonly CostInputs[]): CostInputs {
  const total = (counter: (typeof COST_COUNTERS)[number]) => learners.reduce((sum, l) => sum + l[counter], 0);
  return Object.fromEntries(
    COST_COUNTERS.map((counter) => [counter, total(counter)]),
  ) as unknown as CostInputs;
}

/** The job's AWS cost from the counters learners keep (job creation and the API are not counted). */
export function estimateCost(inputs: CostInputs, architecture: LambdaArchitecture = 'x86_64'): CostEstimate {
  const lambdaUsd =
    inputs.gbSeconds * PRICES_USD.lambdaGbSecond[architecture] +
    inputs.invocations * PRICES_USD.lambdaRequest;
  const dynamoUsd =
    inputs.ddbWriteUnits * PRICES_USD.dynamoWriteUnit + inputs.ddbReadUnits * PRICES_USD.dynamoReadUnit;
  const s3Usd =
    inputs.s3Puts * PRICES_USD.s3Put +
    inputs.s3Gets * PRICES_USD.s3Get +
    (inputs.s3BytesPut / 1e9) * PRICES_USD.s3GbMonth;
  return {
    totalUsd: cents(lambdaUsd + dynamoUsd + s3Usd),
    lambdaUsd: cents(lambdaUsd),
    dynamoUsd: cents(dynamoUsd),
    s3Usd: cents(s3Usd),
  };
}
