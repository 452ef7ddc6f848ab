import type { Command } from 'commander';
import { KasyncError, NotFoundError, ValidationError } from '../engine/errors';
import type { JobSummary } from '../engine/summary';
import type { ApiErrorBody, JobList, JobMetrics } from '../functions/http/schemas';

/** Where `kasync up` listens unless told otherwise. */
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8080';

/** `--endpoint URL`, defaulting to $KASYNC_ENDPOINT. */
export function endpointOption(command: Command, description: string): Command {
  return command.option(
    '--endpoint <url>',
    `${description} (default: $KASYNC_ENDPOINT)`,
    process.env.KASYNC_ENDPOINT,
  );
}

/**
 * How requests to an endpoint are authenticated:
 * - `KASYNC_API_TOKEN` set: `Authorization: Bearer <token>` (a stack deployed with JWT auth);
 * - SigV4 (service `execute-api`) with credentials from the standard chain (environment,
 *   `AWS_PROFILE`/shared files, SSO, process, web identity, container and instance metadata)
 *   when the host is an API Gateway one (`{id}.execute-api.{region}.amazonaws.com`) or
 *   `KASYNC_SIGV4=1` forces it (a custom domain; the region then comes from
 *   `KASYNC_SIGV4_REGION`, `AWS_REGION` or `AWS_DEFAULT_REGION`); `KASYNC_SIGV4=0` turns it off;
 * - otherwise nothing (`kasync up` on 127.0.0.1).
 */
export type EndpointAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'sigv4'; readonly region: string };

const EXECUTE_API_HOST = /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

export function endpointAuth(url: URL, env: NodeJS.ProcessEnv = process.env): EndpointAuth {
  if (env.KASYNC_API_TOKEN) return { kind: 'bearer', token: env.KASYNC_API_TOKEN };
  const force = env.KASYNC_SIGV4?.toLowerCase();
  if (force === '0' || force === 'false') return { kind: 'none' };
  const hostRegion = url.hostname.match(EXECUTE_API_HOST)?.[1];
  if (hostRegion === undefined && force !== '1' && force !== 'true') return { kind: 'none' };
  const region = env.KASYNC_SIGV4_REGION ?? hostRegion ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region)
    throw new ValidationError(
      'KASYNC_SIGV4_REGION',
      `signing requests to ${url.host} needs a region: set KASYNC_SIGV4_REGION or AWS_REGION`,
    );
  return { kind: 'sigv4', region };
}

/** AWS credentials, as the SDK's providers give them. */
export type CredentialProvider = () => Promise<{
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}>;

export interface ApiClientOptions {
  /** Where KASYNC_API_TOKEN, KASYNC_SIGV4 and the region are read; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Credentials for SigV4; default: the AWS SDK's standard chain (read on first use). */
  readonly credentials?: CredentialProvider;
}

/** Signs a request to API Gateway: the headers to send (signature included). */
export type RequestSigner = (request: {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}) => Promise<Record<string, string>>;

export function sigv4Signer(region: string, credentials?: CredentialProvider): RequestSigner {
  // Loaded on first use, so that talking to `kasync up` never loads the credential chain.
  let signer: Promise<import('@smithy/signature-v4').SignatureV4> | undefined;
  const load = async () => {
    const [{ SignatureV4 }, { Sha256 }] = await Promise.all([
      import('@smithy/signature-v4'),
      import('@smithy/core/checksum'),
    ]);
    const provider = credentials ?? (await import('@aws-sdk/credential-provider-node')).defaultProvider();
    return new SignatureV4({ service: 'execute-api', region, credentials: provider, sha256: Sha256 });
  };
  return async ({ method, url, headers, body }) => {
    signer ??= load();
    const signed = await (await signer).sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...headers, host: url.host },
      body,
    });
    // fetch sets Host from the URL itself (the same value).
    const { host: _host, ...rest } = signed.headers;
    return rest;
  };
}

/** A client of the kasync HTTP API (`functions/http/app.ts`); errors come back as the engine's. */
export class ApiClient {
  readonly endpoint: string;
  readonly auth: EndpointAuth;
  private readonly signer?: RequestSigner;

  constructor(endpoint: string, options: ApiClientOptions = {}) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new ValidationError('--endpoint', `"${endpoint}" is not a URL`);
    }
    this.endpoint = url.href.replace(/\/+$/, '');
    this.auth = endpointAuth(url, options.env);
    if (this.auth.kind === 'sigv4') this.signer = sigv4Signer(this.auth.region, options.credentials);
  }

  submit(spec: unknown): Promise<{ jobId: string }> {
    return this.json('/jobs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(spec),
    });
  }

  /** Stores a file for a job spec on the API's side; returns the s3:// URI to put in the spec. */
  async upload(kind: 'model' | 'dataset', bytes: Uint8Array): Promise<string> {
    const { uri } = await this.json<{ uri: string }>(`/uploads/${kind}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: bytes,
    });
    return uri;
  }

  jobs(): Promise<JobList> {
    return this.json('/jobs');
  }

  summary(jobId: string): Promise<JobSummary> {
    return this.json(jobPath(jobId));
  }

  metrics(jobId: string): Promise<JobMetrics> {
    return this.json(`${jobPath(jobId)}/metrics`);
  }

  stop(jobId: string): Promise<JobSummary> {
    return this.json(`${jobPath(jobId)}/stop`, { method: 'POST' });
  }

  async model(jobId: string): Promise<{ bytes: Uint8Array; version: number }> {
    const response = await this.fetch(`${jobPath(jobId)}/model`);
    return {
      bytes: new Uint8Array(await response.arrayBuffer()),
      version: Number(response.headers.get('x-kasync-version')),
    };
  }

  private async json<T>(path: string, init?: RequestInit): Promise<T> {
    return (await (await this.fetch(path, init)).json()) as T;
  }

  /** The request's headers with its authentication added. */
  private async authenticate(url: URL, init: RequestInit): Promise<Record<string, string>> {
    const headers = { ...(init.headers as Record<string, string> | undefined) };
    if (this.auth.kind === 'bearer') return { ...headers, authorization: `Bearer ${this.auth.token}` };
    if (!this.signer) return headers;
    try {
      return await this.signer({
        method: init.method ?? 'GET',
        url,
        headers,
        // The signature covers the payload: uploads send bytes, everything else JSON text.
        body: typeof init.body === 'string' || init.body instanceof Uint8Array ? init.body : undefined,
      });
    } catch (error) {
      throw new KasyncError(
        `cannot sign requests to ${url.host} with AWS credentials (${(error as Error).message}); ` +
          'configure them as for the AWS CLI (AWS_PROFILE, aws sso login, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)',
        { cause: error },
      );
    }
  }

  private async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const url = new URL(`${this.endpoint}${path}`);
    const headers = await this.authenticate(url, init);
    let response: Response;
    try {
      response = await fetch(url, { ...init, headers });
    } catch (error) {
      throw new KasyncError(
        `no kasync API answers at ${this.endpoint} (start one with \`kasync up\`, or pass --endpoint)`,
        {
          cause: error,
        },
      );
    }
    if (response.ok) return response;
    // API Gateway's own refusals (authorization, throttling) say `message`, the app says `error`.
    const body = (await response.json().catch(() => ({}))) as Partial<ApiErrorBody> & { message?: string };
    const message = body.error ?? body.message ?? `${response.status} ${response.statusText}`;
    // The API's message already names the field; an empty field keeps it as it is.
    if (response.status === 400 || response.status === 413) throw new ValidationError('', message);
    if (response.status === 404) throw new NotFoundError(message);
    if (response.status === 401 || response.status === 403)
      throw new KasyncError(
        `${this.endpoint} refused the request (${response.status}): ${message}${authHint(this.auth)}`,
      );
    throw new KasyncError(`${this.endpoint} answered ${response.status}: ${message}`);
  }
}

function authHint(auth: EndpointAuth): string {
  if (auth.kind === 'bearer') return ' (is KASYNC_API_TOKEN a current token for this API?)';
  if (auth.kind === 'sigv4')
    return ` (signed with SigV4 for ${auth.region}; the caller needs execute-api:Invoke on this API)`;
  return '';
}

/** Encoded, so an id like `../x` stays one path segment and the API refuses it. */
const jobPath = (jobId: string) => `/jobs/${encodeURIComponent(jobId)}`;
