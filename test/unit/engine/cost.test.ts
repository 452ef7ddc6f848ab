import { estimateCost, PRICES_USD } from '../../../engine/cost';

describe('estimateCost', () => {
  it('adds Lambda GB-seconds and requests, DynamoDB units and S3 requests and storage', () => {
    const cost = estimateCost({
      gbSeconds: 1000,
      invocations: 1e6,
      ddbReadUnits: 2e6,
      ddbWriteUnits: 1e6,
      s3Puts: 1000,
      s3Gets: 10_000,
      s3BytesPut: 1e9,
    });
    expect(cost.lambdaUsd).toBeCloseTo(1000 * PRICES_USD.lambdaGbSecond.x86_64 + 0.2, 6);
    expect(cost.dynamoUsd).toBeCloseTo(0.625 + 0.25, 6);
    expect(cost.s3Usd).toBeCloseTo(0.005 + 0.004 + 0.023, 6);
    expect(cost.totalUsd).toBeCloseTo(cost.lambdaUsd + cost.dynamoUsd + cost.s3Usd, 5);
  });
});
