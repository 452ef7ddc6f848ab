import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { closeServer, listenOnLoopback } from '../net';
import { bundleFunction, bundleRuntime, nodeModulesSearchPath } from './bundle';
import { FunctionPool, type FunctionStats, type WorkerInfo } from './pool';

export interface LocalFunctionConfig {
  name: string;
  /** Absolute path of the handler's .ts module. */
  entry: string;
  /** Export name; default 'handler'. */
  handler?: string;
  timeoutSeconds: number;
  maxConcurrency: number;
  /** An idle warm worker is reclaimed after this long; default 60 s. */
  idleTimeoutMs?: number;
  /** Retries of a failed async (Event) invocation, as on AWS; default 2. */
  maximumRetryAttempts?: number;
  /** Reported to the handler (context.memoryLimitInMB, AWS_LAMBDA_FUNCTION_MEMORY_SIZE), not enforced; default 128. */
  memoryMb?: number;
  environment?: Record<string, string>;
}

export const InvocationType = {
  RequestResponse: 'RequestResponse',
  Event: 'Event',
  DryRun: 'DryRun',
} as const;
export type InvocationType = (typeof InvocationType)[keyof typeof InvocationType];

export interface LocalInvokeResult {
  /** 200 (RequestResponse), 202 (Event) or 204 (DryRun), as the Invoke API answers. */
  statusCode: number;
  requestId: string;
  /** 'Unhandled' when the handler failed; the payload is then `{errorType, errorMessage, trace}`. */
  functionError?: string;
  payload?: unknown;
}

export interface LocalLambda {
  workers(name: string): WorkerInfo[];
  /** Sends `signal` (default SIGKILL) to a worker; false if no live worker has that pid. */
  killWorker(pid: number, signal?: NodeJS.Signals): boolean;
  stats(name: string): FunctionStats;
  /** Resolves once no invocation is running, queued or waiting for a retry. */
  idle(): Promise<void>;
  /** Invokes like the HTTP API does; Invoke API errors (unknown function, throttling) are thrown. */
  invoke(name: string, event: unknown, type?: InvocationType): Promise<LocalInvokeResult>;
  /** The file a function's logs (console output, START/END/REPORT lines) are appended to. */
  logFile(name: string): string;
}

export interface LocalLambdaServer {
  endpoint: string;
  lambda: LocalLambda;
  stop(): Promise<void>;
}

export interface LocalLambdaOptions {
  functions: LocalFunctionConfig[];
  /** Environment every function gets (the stack's endpoints and credentials); AWS_ENDPOINT_URL_LAMBDA is added. */
  env: Record<string, string>;
  workDir: string;
  log?: (line: string) => void;
}

/** An Invoke API error, named by its AWS error code (`ResourceNotFoundException`, ...). */
export class LocalLambdaError extends Error {
  override readonly name = 'LocalLambdaError';
  constructor(
    readonly errorType: string,
    readonly statusCode: number,
    message: string,
  ) {
    super(`${errorType}: ${message}`);
  }
}

interface InvokeResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
// Lambda's payload quotas: 6 MB each way for RequestResponse, 256 KB for an Event.
const SYNC_PAYLOAD_LIMIT_BYTES = 6 * 2 ** 20;
const EVENT_PAYLOAD_LIMIT_BYTES = 256 * 2 ** 10;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** Bundles the functions, then serves the Lambda Invoke API for them on a loopback port. */
export async function startLocalLambda(options: LocalLambdaOptions): Promise<LocalLambdaServer> {
  validateFunctions(options.functions);
  const runtimePath = path.join(options.workDir, 'lambda', 'runtime', 'bootstrap.js');
  const logDir = path.join(options.workDir, 'logs');
  await mkdir(logDir, { recursive: true });
  await Promise.all([
    bundleRuntime(runtimePath),
    ...options.functions.map((fn) => bundleFunction(fn.entry, taskRoot(options.workDir, fn.name))),
  ]);

  const pools = new Map<string, FunctionPool>();
  const server = createServer((req, res) => void serveInvoke(req, res, pools));
  const endpoint = `http://127.0.0.1:${await listenOnLoopback(server)}`;

  const idleWaiters: (() => void)[] = [];
  const allSettled = () => [...pools.values()].every((pool) => pool.settled);
  const onSettled = () => {
    if (allSettled()) for (const resolve of idleWaiters.splice(0)) resolve();
  };
  // A function can invoke functions, itself included (a learner re-invokes itself).
  const env = { ...options.env, AWS_ENDPOINT_URL_LAMBDA: endpoint };
  for (const fn of options.functions) {
    const logFile = path.join(logDir, `${fn.name}.log`);
    pools.set(fn.name, new FunctionPool(poolOptions(fn, env, options, runtimePath, logFile, onSettled)));
  }

  const pool = (name: string): FunctionPool => {
    const found = pools.get(name);
    if (found === undefined)
      throw new LocalLambdaError('ResourceNotFoundException', 404, `Function not found: ${arn(name)}`);
    return found;
  };

  const lambda: LocalLambda = {
    workers: (name) => pool(name).workers(),
    killWorker: (pid, signal = 'SIGKILL') => [...pools.values()].some((p) => p.killWorker(pid, signal)),
    stats: (name) => pool(name).stats(),
    idle: () =>
      new Promise((resolve) => {
        if (allSettled()) resolve();
        else idleWaiters.push(resolve);
      }),
    invoke: async (name, event, type = InvocationType.RequestResponse) => {
      const response = await invoke(pools, name, JSON.stringify(event) ?? 'null', type);
      const requestId = response.headers['x-amzn-RequestId'];
      if (response.statusCode >= 400) {
        const { message } = JSON.parse(response.body) as { message: string };
        throw new LocalLambdaError(response.headers['x-amzn-ErrorType'], response.statusCode, message);
      }
      return {
        statusCode: response.statusCode,
        requestId,
        functionError: response.headers['X-Amz-Function-Error'],
        payload: response.body === '' ? undefined : JSON.parse(response.body),
      };
    },
    logFile: (name) => {
      pool(name);
      return path.join(logDir, `${name}.log`);
    },
  };

  return {
    endpoint,
    lambda,
    stop: async () => {
      await Promise.all([...pools.values()].map((p) => p.stop()));
      await closeServer(server);
    },
  };
}

/** What the Lambda API (and so CDK) would refuse is refused here too, before anything starts. */
function validateFunctions(functions: LocalFunctionConfig[]): void {
  const invalid = (name: string, problem: string) =>
    new LocalLambdaError('InvalidParameterValueException', 400, `function ${name}: ${problem}`);
  const seen = new Set<string>();
  for (const fn of functions) {
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(fn.name))
      throw invalid(fn.name, 'name must be 1-64 letters, digits, - or _');
    if (seen.has(fn.name)) throw invalid(fn.name, 'defined twice');
    seen.add(fn.name);
    if (!path.isAbsolute(fn.entry)) throw invalid(fn.name, `entry ${fn.entry} is not an absolute path`);
    if (!Number.isInteger(fn.timeoutSeconds) || fn.timeoutSeconds < 1 || fn.timeoutSeconds > 900) {
      throw invalid(fn.name, 'timeoutSeconds must be an integer from 1 to 900');
    }
    if (!Number.isInteger(fn.maxConcurrency) || fn.maxConcurrency < 1) {
      throw invalid(fn.name, 'maxConcurrency must be a positive integer');
    }
  }
}

function taskRoot(workDir: string, name: string): string {
  return path.join(workDir, 'lambda', 'functions', name);
}

function arn(name: string): string {
  return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
}

function poolOptions(
  fn: LocalFunctionConfig,
  env: Record<string, string>,
  options: LocalLambdaOptions,
  runtimePath: string,
  logFile: string,
  onSettled: () => void,
) {
  const root = taskRoot(options.workDir, fn.name);
  const memoryMb = fn.memoryMb ?? 128;
  // The reserved variables of a Lambda execution environment come last: AWS does not let a
  // function's configuration override them either.
  const lambdaEnv = {
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x',
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
    AWS_LAMBDA_FUNCTION_TIMEOUT: String(fn.timeoutSeconds),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    LAMBDA_TASK_ROOT: root,
    LAMBDA_RUNTIME_DIR: path.dirname(runtimePath),
    _HANDLER: `index.${fn.handler ?? 'handler'}`,
    NODE_PATH: nodeModulesSearchPath(path.dirname(fn.entry)).join(path.delimiter),
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
  };
  return {
    name: fn.name,
    runtimePath,
    taskRoot: root,
    // Only PATH from the parent: a function must not pick up the developer's AWS profile.
    env: { PATH: process.env.PATH ?? '', ...env, ...fn.environment, ...lambdaEnv },
    timeoutSeconds: fn.timeoutSeconds,
    memoryMb,
    maxConcurrency: fn.maxConcurrency,
    idleTimeoutMs: fn.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    maximumRetryAttempts: fn.maximumRetryAttempts ?? 2,
    logFile,
    log: options.log,
    onSettled,
  };
}

async function serveInvoke(
  req: IncomingMessage,
  res: ServerResponse,
  pools: Map<string, FunctionPool>,
): Promise<void> {
  let response: InvokeResponse;
  try {
    response = await answer(req, pools);
  } catch (err) {
    response = apiError(500, 'ServiceException', `local Lambda failed: ${(err as Error).message}`);
  }
  res.writeHead(response.statusCode, { 'Content-Type': 'application/json', ...response.headers });
  res.end(response.body);
}

async function answer(req: IncomingMessage, pools: Map<string, FunctionPool>): Promise<InvokeResponse> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const match = INVOKE_PATH.exec(url.pathname);
  if (req.method !== 'POST' || match === null) {
    return apiError(404, 'UnknownOperationException', `Unsupported operation ${req.method} ${url.pathname}`);
  }
  const body = await readBody(req, SYNC_PAYLOAD_LIMIT_BYTES);
  if (body === undefined) {
    return apiError(
      413,
      'RequestTooLargeException',
      `Request must be smaller than ${SYNC_PAYLOAD_LIMIT_BYTES} bytes for the InvokeFunction operation`,
    );
  }
  const type = req.headers['x-amz-invocation-type'] ?? InvocationType.RequestResponse;
  return invoke(pools, functionName(decodeURIComponent(match[1])), body, String(type));
}

/** Accepts a function name, a full ARN or a partial ARN, as the Invoke API does. */
function functionName(nameOrArn: string): string {
  const parts = nameOrArn.split(':');
  const functionIndex = parts.indexOf('function');
  return functionIndex >= 0 ? parts[functionIndex + 1] : nameOrArn;
}

async function invoke(
  pools: Map<string, FunctionPool>,
  name: string,
  payload: string,
  type: string,
): Promise<InvokeResponse> {
  const pool = pools.get(name);
  if (pool === undefined)
    return apiError(404, 'ResourceNotFoundException', `Function not found: ${arn(name)}`);
  const event = payload === '' ? '{}' : payload;
  try {
    JSON.parse(event);
  } catch (err) {
    return apiError(
      400,
      'InvalidRequestContentException',
      `Could not parse request body into json: ${(err as Error).message}`,
    );
  }
  const requestId = randomUUID();
  const headers = { 'x-amzn-RequestId': requestId };
  switch (type) {
    case InvocationType.DryRun:
      return { statusCode: 204, headers, body: '' };
    case InvocationType.Event: {
      if (Buffer.byteLength(event) > EVENT_PAYLOAD_LIMIT_BYTES) {
        return apiError(
          413,
          'RequestTooLargeException',
          `Request must be smaller than ${EVENT_PAYLOAD_LIMIT_BYTES} bytes for the InvokeFunction operation`,
        );
      }
      pool.enqueueEvent(requestId, event);
      return { statusCode: 202, headers, body: '' };
    }
    case InvocationType.RequestResponse: {
      const running = pool.invokeSync(requestId, event);
      if (running === undefined) {
        return apiError(429, 'TooManyRequestsException', 'Rate Exceeded.', {
          Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
        });
      }
      const outcome = await running;
      const syncHeaders = { ...headers, 'X-Amz-Executed-Version': '$LATEST' };
      if (!outcome.ok) {
        return {
          statusCode: 200,
          headers: { ...syncHeaders, 'X-Amz-Function-Error': 'Unhandled' },
          body: JSON.stringify(outcome.error),
        };
      }
      if (Buffer.byteLength(outcome.payload) > SYNC_PAYLOAD_LIMIT_BYTES) {
        const error = {
          errorType: 'Function.ResponseSizeTooLarge',
          errorMessage: `Response payload size exceeded maximum allowed payload size (${SYNC_PAYLOAD_LIMIT_BYTES} bytes).`,
          trace: [],
        };
        return {
          statusCode: 200,
          headers: { ...syncHeaders, 'X-Amz-Function-Error': 'Unhandled' },
          body: JSON.stringify(error),
        };
      }
      return { statusCode: 200, headers: syncHeaders, body: outcome.payload };
    }
    default:
      return apiError(400, 'InvalidParameterValueException', `Unsupported invocation type ${type}`);
  }
}

function apiError(
  statusCode: number,
  errorType: string,
  message: string,
  extra: Record<string, string> = {},
): InvokeResponse {
  return {
    statusCode,
    headers: { 'x-amzn-ErrorType': errorType },
    body: JSON.stringify({ Type: 'User', message, ...extra }),
  };
}

/** The body as text, or undefined when it exceeds `limitBytes` (read to the end all the same, to answer). */
async function readBody(req: IncomingMessage, limitBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= limitBytes) chunks.push(chunk as Buffer);
  }
  return size > limitBytes ? undefined : Buffer.concat(chunks).toString('utf8');
}
