import { createClients } from '../../../engine/aws';

/** What the S3 client is configured with against an emulator and against AWS itself. */
async function s3Settings(env: NodeJS.ProcessEnv) {
  const { config } = createClients(env).s3;
  return {
    forcePathStyle: config.forcePathStyle,
    requestChecksums: await config.requestChecksumCalculation(),
    responseChecksums: await config.responseChecksumValidation(),
  };
}

describe('createClients', () => {
  test('an S3 emulator gets path-style buckets and no flexible checksums (s3rver corrupts streamed bodies with them)', async () => {
    expect(await s3Settings({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:4569' })).toEqual({
      forcePathStyle: true,
      requestChecksums: 'WHEN_REQUIRED',
      responseChecksums: 'WHEN_REQUIRED',
    });
  });

  test('real S3 keeps the SDK defaults: virtual-host buckets, checksums computed and validated', async () => {
    expect(await s3Settings({ AWS_REGION: 'us-east-1' })).toEqual({
      forcePathStyle: false,
      requestChecksums: 'WHEN_SUPPORTED',
      responseChecksums: 'WHEN_SUPPORTED',
    });
  });
});
