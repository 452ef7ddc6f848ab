import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { configFromContext, DEFAULT_CONFIG } from '../../cdk/config';

/** `cdk deploy -c key=value`: values arrive as strings; a bad one is refused naming its key. */
describe('configFromContext', () => {
  const from = (context: Record<string, unknown>) => configFromContext((key) => context[key]);

  it('defaults everything', () => {
    expect(from({})).toEqual(DEFAULT_CONFIG);
    expect(DEFAULT_CONFIG).toMatchObject({
      architecture: Architecture.X86_64,
      apiAuth: { kind: 'iam' },
      retainData: false,
      learnerMaxConcurrency: undefined,
    });
  });

  it('reads command-line strings and cdk.json values alike', () => {
    expect(
      from({
        architecture: 'arm64',
        retainData: 'true',
        learnerMaxConcurrency: '50',
        learnerMemoryMb: 3008,
        logRetentionDays: '14',
        apiRateLimit: '5',
      }),
    ).toMatchObject({
      architecture: Architecture.ARM_64,
      retainData: true,
      learnerMaxConcurrency: 50,
      learnerMemoryMb: 3008,
      logRetentionDays: RetentionDays.TWO_WEEKS,
      apiRateLimit: 5,
    });
  });

  it('takes JWT auth with an issuer and audiences', () => {
    expect(
      from({
        apiAuth: 'jwt',
        jwtIssuer: 'https://cognito-idp.eu-west-1.amazonaws.com/pool',
        jwtAudience: 'a, b',
      }).apiAuth,
    ).toEqual({
      kind: 'jwt',
      issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/pool',
      audience: ['a', 'b'],
    });
  });

  it.each([
    [{ architecture: 'x86' }, /context architecture: "x86" is not x86_64 or arm64/],
    [{ retainData: 'yes' }, /context retainData: "yes" is not true or false/],
    [{ learnerMaxConcurrency: '0' }, /context learnerMaxConcurrency: "0" is not an integer from 1/],
    [{ learnerMemoryMb: '1769.5' }, /context learnerMemoryMb/],
    [{ logRetentionDays: '10' }, /context logRetentionDays: 10 is not one of 1, 3, 5, 7, 14, 30/],
    [{ apiAuth: 'none' }, /context apiAuth: "none" is not iam or jwt/],
    [{ apiAuth: 'jwt', jwtAudience: 'a' }, /context jwtIssuer: apiAuth=jwt needs the issuer URL/],
    [
      { apiAuth: 'jwt', jwtIssuer: 'https://x' },
      /context jwtAudience: apiAuth=jwt needs at least one audience/,
    ],
  ])('refuses %j', (context, message) => {
    expect(() => from(context)).toThrow(message);
  });
});
