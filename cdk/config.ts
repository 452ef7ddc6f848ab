import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

/** How callers of the HTTP API prove who they are. */
export type ApiAuth =
  /** SigV4 with IAM credentials (the default): the CLI signs from the standard credential chain. */
  | { readonly kind: 'iam' }
  /** A JWT from an OIDC issuer (e.g. a Cognito user pool): `Authorization: Bearer <token>`. */
  | { readonly kind: 'jwt'; readonly issuer: string; readonly audience: readonly string[] };

/** Everything a deployment may choose; every field has a default (DEFAULT_CONFIG). */
export interface KasyncConfig {
  /** One architecture for both functions and the onnxruntime layer. */
  readonly architecture: Architecture;
  /** Keep the bucket and table (deletion protection on) when the stack is deleted. */
  readonly retainData: boolean;
  /** Gradient blobs only serve audits: expire them after this many days. */
  readonly gradientRetentionDays: number;
  /** Learners are CPU bound; Lambda gives CPU in proportion to memory (1,769 MB = one vCPU). */
  readonly learnerMemoryMb: number;
  /**
   * Reserved concurrency of the learner function: at most this many learners run at once in
   * the account (jobs with more learners wait for a slot), and they can never be starved by
   * other functions. Unset: no reservation (new accounts may have too little concurrency to
   * reserve any).
   */
  readonly learnerMaxConcurrency?: number;
  readonly apiMemoryMb: number;
  readonly apiAuth: ApiAuth;
  /** API Gateway throttling of the whole stage: steady requests per second and burst. */
  readonly apiRateLimit: number;
  readonly apiBurstLimit: number;
  /** Retention of the functions' logs and the API's access logs (a CloudWatch Logs retention value). */
  readonly logRetentionDays: RetentionDays;
}

export const DEFAULT_CONFIG: KasyncConfig = {
  architecture: Architecture.X86_64,
  retainData: false,
  gradientRetentionDays: 30,
  learnerMemoryMb: 1769,
  learnerMaxConcurrency: undefined,
  apiMemoryMb: 1024,
  apiAuth: { kind: 'iam' },
  // A dashboard open on a running job sends about 2.5 requests a second.
  apiRateLimit: 20,
  apiBurstLimit: 40,
  logRetentionDays: RetentionDays.ONE_MONTH,
};

/** The context keys `cdk deploy -c key=value` (or cdk.json's `context`) may set. */
export const CONTEXT_KEYS = [
  'architecture',
  'retainData',
  'gradientRetentionDays',
  'learnerMemoryMb',
  'learnerMaxConcurrency',
  'apiMemoryMb',
  'apiAuth',
  'jwtIssuer',
  'jwtAudience',
  'apiRateLimit',
  'apiBurstLimit',
  'logRetentionDays',
] as const;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Context = (key: string) => unknown;

/**
 * Reads the configuration from CDK context (`-c architecture=arm64`); values given on the
 * command line arrive as strings. Unknown values are refused naming the key, not ignored.
 */
export function configFromContext(context: Context): KasyncConfig {
  const text = (key: string) => {
    const value = context(key);
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const int = (key: string, min: number, max: number) => {
    const value = text(key);
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new ConfigError(`context ${key}: "${value}" is not an integer from ${min} to ${max}`);
    return n;
  };
  const bool = (key: string) => {
    const value = text(key);
    if (value === undefined) return undefined;
    if (value === 'true' || value === 'false') return value === 'true';
    throw new ConfigError(`context ${key}: "${value}" is not true or false`);
  };

  const retention = (days: number | undefined) => {
    if (days === undefined) return undefined;
    const allowed = Object.values(RetentionDays).filter((v): v is number => typeof v === 'number' && v > 0);
    if (!allowed.includes(days))
      throw new ConfigError(`context logRetentionDays: ${days} is not one of ${allowed.join(', ')}`);
    return days as RetentionDays;
  };

  const arch = text('architecture');
  if (arch !== undefined && arch !== 'x86_64' && arch !== 'arm64')
    throw new ConfigError(`context architecture: "${arch}" is not x86_64 or arm64`);

  const auth = text('apiAuth') ?? 'iam';
  let apiAuth: ApiAuth;
  if (auth === 'iam') apiAuth = { kind: 'iam' };
  else if (auth === 'jwt') {
    const issuer = text('jwtIssuer');
    const audience = (text('jwtAudience') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (!issuer?.startsWith('https://'))
      throw new ConfigError('context jwtIssuer: apiAuth=jwt needs the issuer URL (https://...)');
    if (audience.length === 0)
      throw new ConfigError('context jwtAudience: apiAuth=jwt needs at least one audience (client id)');
    apiAuth = { kind: 'jwt', issuer, audience };
  } else throw new ConfigError(`context apiAuth: "${auth}" is not iam or jwt`);

  const d = DEFAULT_CONFIG;
  return {
    architecture:
      arch === 'arm64' ? Architecture.ARM_64 : arch === 'x86_64' ? Architecture.X86_64 : d.architecture,
    retainData: bool('retainData') ?? d.retainData,
    gradientRetentionDays: int('gradientRetentionDays', 1, 3650) ?? d.gradientRetentionDays,
    learnerMemoryMb: int('learnerMemoryMb', 512, 10240) ?? d.learnerMemoryMb,
    learnerMaxConcurrency: int('learnerMaxConcurrency', 1, 10000) ?? d.learnerMaxConcurrency,
    apiMemoryMb: int('apiMemoryMb', 256, 10240) ?? d.apiMemoryMb,
    apiAuth,
    apiRateLimit: int('apiRateLimit', 1, 10000) ?? d.apiRateLimit,
    apiBurstLimit: int('apiBurstLimit', 1, 5000) ?? d.apiBurstLimit,
    logRetentionDays: retention(int('logRetentionDays', 1, 3653)) ?? d.logRetentionDays,
  };
}
