// The runtime bootstrap a worker child runs, in the role of the Node.js runtime in a Lambda
// execution environment: it loads the function's bundle (the cold start), then runs one
// invocation at a time for the parent. Bundled on its own by esbuild; imports only node built-ins.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { format } from 'node:util';
import type { ChildMessage, InvokeMessage, LambdaErrorPayload, ParentMessage } from './protocol';
import { toLambdaError } from './protocol';

type Handler = (event: unknown, context: LambdaContext) => unknown;

interface LambdaContext {
  awsRequestId: string;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`runtime bootstrap: ${name} is not set`);
  return value;
};

let currentRequestId: string | undefined;

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

// The Lambda Node.js runtime prefixes every console line with time, request id and level.
function patchConsole(): void {
  const levels = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' };
  for (const [method, level] of Object.entries(levels)) {
    const stream = level === 'INFO' || level === 'DEBUG' ? process.stdout : process.stderr;
    Object.assign(console, {
      [method]: (...args: unknown[]) => {
        stream.write(
          `${new Date().toISOString()}\t${currentRequestId ?? 'undefined'}\t${level}\t${format(...args)}\n`,
        );
      },
    });
  }
}

function loadHandler(): Handler | LambdaErrorPayload {
  const [moduleName, handlerName] = splitHandler(env('_HANDLER'));
  let loaded: Record<string, unknown>;
  try {
    loaded = require(path.join(env('LAMBDA_TASK_ROOT'), moduleName));
  } catch (err) {
    const notFound = (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND';
    const syntax = err instanceof SyntaxError;
    return toLambdaError(
      err,
      notFound ? 'Runtime.ImportModuleError' : syntax ? 'Runtime.UserCodeSyntaxError' : undefined,
    );
  }
  const handler = loaded[handlerName];
  if (typeof handler !== 'function') {
    return {
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: `${moduleName}.${handlerName} is undefined or not exported`,
      trace: [],
    };
  }
  return handler as Handler;
}

function splitHandler(spec: string): [string, string] {
  const dot = spec.lastIndexOf('.');
  return [spec.slice(0, dot), spec.slice(dot + 1)];
}

function contextFor(message: InvokeMessage): LambdaContext {
  const functionName = env('AWS_LAMBDA_FUNCTION_NAME');
  return {
    awsRequestId: message.requestId,
    functionName,
    functionVersion: env('AWS_LAMBDA_FUNCTION_VERSION'),
    invokedFunctionArn: `arn:aws:lambda:${env('AWS_REGION')}:000000000000:function:${functionName}`,
    memoryLimitInMB: env('AWS_LAMBDA_FUNCTION_MEMORY_SIZE'),
    logGroupName: env('AWS_LAMBDA_LOG_GROUP_NAME'),
    logStreamName: env('AWS_LAMBDA_LOG_STREAM_NAME'),
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, message.deadlineMs - Date.now()),
  };
}

async function invoke(handler: Handler, message: InvokeMessage): Promise<void> {
  currentRequestId = message.requestId;
  try {
    const value = await handler(JSON.parse(message.payload), contextFor(message));
    const payload = JSON.stringify(value) ?? 'null';
    await send({
      type: 'result',
      requestId: message.requestId,
      payload,
      rssBytes: process.memoryUsage.rss(),
    });
  } catch (err) {
    await send({
      type: 'error',
      requestId: message.requestId,
      error: toLambdaError(err),
      rssBytes: process.memoryUsage.rss(),
    });
  } finally {
    currentRequestId = undefined;
  }
}

// Like the Lambda runtime, an error escaping the handler's promise chain fails the current
// invocation and ends the execution environment.
async function crash(err: unknown, errorType: string | undefined): Promise<never> {
  console.error('Uncaught', err);
  if (currentRequestId !== undefined) {
    const error = toLambdaError(err, errorType);
    await send({ type: 'error', requestId: currentRequestId, error, rssBytes: process.memoryUsage.rss() });
  }
  process.exit(129);
}

async function main(): Promise<void> {
  // Dying with the parent: the IPC channel closes when the parent exits for any reason.
  process.on('disconnect', () => process.exit(0));
  process.on('uncaughtException', (err) => void crash(err, undefined));
  process.on('unhandledRejection', (reason) => void crash(reason, 'Runtime.UnhandledPromiseRejection'));
  patchConsole();

  const handler = loadHandler();
  if (typeof handler !== 'function') {
    console.error('Init Error', handler.errorType, handler.errorMessage);
    await send({ type: 'init-error', error: handler });
    process.exit(1);
  }
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'invoke') void invoke(handler, message);
  });
  await send({ type: 'ready', initDurationMs: performance.now() });
}

void main();
