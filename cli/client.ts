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

/** A client of the kasync HTTP API (`functions/http/app.ts`); errors come back as the engine's. */
export class ApiClient {
  readonly endpoint: string;

  constructor(endpoint: string) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new ValidationError('--endpoint', `"${endpoint}" is not a URL`);
    }
    this.endpoint = url.href.replace(/\/+$/, '');
  }

  submit(spec: unknown): Promise<{ jobId: string }> {
    return this.json('/jobs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(spec),
    });
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

  private async fetch(path: string, init?: RequestInit): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${this.endpoint}${path}`, init);
    } catch (error) {
      throw new KasyncError(
        `no kasync API answers at ${this.endpoint} (start one with \`kasync up\`, or pass --endpoint)`,
        {
          cause: error,
        },
      );
    }
    if (response.ok) return response;
    const body = (await response.json().catch(() => ({}))) as Partial<ApiErrorBody>;
    const message = body.error ?? `${response.status} ${response.statusText}`;
    // The API's message already names the field; an empty field keeps it as it is.
    if (response.status === 400 || response.status === 413) throw new ValidationError('', message);
    if (response.status === 404) throw new NotFoundError(message);
    throw new KasyncError(`${this.endpoint} answered ${response.status}: ${message}`);
  }
}

/** Encoded, so an id like `../x` stays one path segment and the API refuses it. */
const jobPath = (jobId: string) => `/jobs/${encodeURIComponent(jobId)}`;
