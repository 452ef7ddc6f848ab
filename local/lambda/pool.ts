import { randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { type InvocationOutcome, type InvocationReport, Worker } from './worker';

export interface PoolOptions {
  name: string;
  runtimePath: string;
  taskRoot: string;
  env: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  maxConcurrency: number;
  idleTimeoutMs: number;
  maximumRetryAttempts: number;
  logFile: string;
  log?: (line: string) => void;
  /** Called whenever the pool may have become idle. */
  onSettled: () => void;
}

export interface WorkerInfo {
  pid: number;
  busy: boolean;
  invocations: number;
}

export interface FunctionStats {
  coldStarts: number;
  /** Handler executions, retries of async invocations included. */
  invocations: number;
  errors: number;
  /** Async invocations waiting for a worker or for their retry. */
  queued: number;
}

interface SyncInvocation {
  requestId: string;
  payload: string;
}

interface AsyncInvocation extends SyncInvocation {
  /** 0 for the first try; retries keep the request id, as on AWS. */
  attempt: number;
}

type Invocation = SyncInvocation | AsyncInvocation;

// Lambda waits a minute, then two, between async retries; locally a run must not stall.
const ASYNC_RETRY_BASE_DELAY_MS = 200;

// Lambda's own limit on a cold start's init phase; a timed-out init is retried inside the
// invocation under the function timeout, so the whole init may take the sum.
const INIT_LIMIT_MS = 10_000;

/** The execution environments of one function: cold starts, warm reuse, a concurrency cap, an event queue. */
export class FunctionPool {
  /** Every child not yet exited, retired ones included, so stop() can wait for all of them. */
  private readonly alive = new Set<Worker>();
  /** Most recently used last: reuse the warmest, let the others idle out. */
  private readonly idleWorkers: Worker[] = [];
  private readonly idleTimers = new Map<Worker, NodeJS.Timeout>();
  private readonly eventQueue: AsyncInvocation[] = [];
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly logStream: WriteStream;
  private running = 0;
  private readonly executions = new Set<Promise<InvocationReport>>();
  private stopped = false;
  private readonly counters = { coldStarts: 0, invocations: 0, errors: 0 };

  constructor(private readonly options: PoolOptions) {
    this.logStream = createWriteStream(options.logFile, { flags: 'a' });
  }

  get settled(): boolean {
    return this.running === 0 && this.eventQueue.length === 0 && this.retryTimers.size === 0;
  }

  stats(): FunctionStats {
    return { ...this.counters, queued: this.eventQueue.length + this.retryTimers.size };
  }

  workers(): WorkerInfo[] {
    return this.usable().map(({ pid, busy, invocations }) => ({ pid, busy, invocations }));
  }

  killWorker(pid: number, signal: NodeJS.Signals): boolean {
    const worker = this.usable().find((candidate) => candidate.pid === pid);
    worker?.kill(signal);
    return worker !== undefined;
  }

  /** Runs a RequestResponse invocation, or returns undefined when every allowed worker is busy. */
  invokeSync(requestId: string, payload: string): Promise<InvocationOutcome> | undefined {
    const worker = this.acquire();
    if (worker === undefined) return undefined;
    return this.execute(worker, { requestId, payload }).then((report) => report.outcome);
  }

  enqueueEvent(requestId: string, payload: string): void {
    this.eventQueue.push({ requestId, payload, attempt: 0 });
    this.drainEventQueue();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of [...this.retryTimers, ...this.idleTimers.values()]) clearTimeout(timer);
    this.retryTimers.clear();
    this.idleTimers.clear();
    const dropped = this.eventQueue.splice(0);
    if (dropped.length > 0)
      this.write(`stack stopping: ${dropped.length} queued async invocation(s) dropped`);
    const workers = [...this.alive];
    for (const worker of workers) worker.kill('SIGKILL');
    await Promise.all([...workers.map((worker) => worker.exited), ...this.executions]);
    await new Promise<void>((resolve) => this.logStream.end(resolve));
  }

  private acquire(): Worker | undefined {
    if (this.stopped) return undefined;
    const warm = this.idleWorkers.pop();
    if (warm !== undefined) {
      clearTimeout(this.idleTimers.get(warm));
      this.idleTimers.delete(warm);
      return warm;
    }
    if (this.usable().length >= this.options.maxConcurrency) return undefined;
    return this.spawn();
  }

  private spawn(): Worker {
    const { env, runtimePath, taskRoot, timeoutSeconds, name } = this.options;
    const worker = new Worker({
      runtimePath,
      taskRoot,
      env: {
        ...env,
        AWS_LAMBDA_LOG_STREAM_NAME: `${new Date().toISOString().slice(0, 10)}/[$LATEST]${randomUUID()}`,
      },
      timeoutMs: timeoutSeconds * 1000,
      initTimeoutMs: INIT_LIMIT_MS + timeoutSeconds * 1000,
      onOutput: (line) => this.write(line),
    });
    this.counters.coldStarts += 1;
    this.alive.add(worker);
    this.write(`cold start: ${name} worker ${worker.pid}`);
    void worker.exited.then(() => this.forget(worker));
    return worker;
  }

  private usable(): Worker[] {
    return [...this.alive].filter((worker) => !worker.retired);
  }

  private forget(worker: Worker): void {
    this.alive.delete(worker);
    clearTimeout(this.idleTimers.get(worker));
    this.idleTimers.delete(worker);
    const idleIndex = this.idleWorkers.indexOf(worker);
    if (idleIndex >= 0) this.idleWorkers.splice(idleIndex, 1);
    // A freed slot lets a queued event start on a new worker.
    this.drainEventQueue();
  }

  private execute(worker: Worker, invocation: Invocation): Promise<InvocationReport> {
    const execution = this.executeAndLog(worker, invocation);
    this.executions.add(execution);
    void execution.finally(() => this.executions.delete(execution));
    return execution;
  }

  private async executeAndLog(worker: Worker, invocation: Invocation): Promise<InvocationReport> {
    const { requestId, payload } = invocation;
    this.running += 1;
    this.counters.invocations += 1;
    this.write(`START RequestId: ${requestId} Version: $LATEST`);
    const report = await worker.run(requestId, payload);
    this.running -= 1;
    this.writeReport(requestId, report);
    if (!report.outcome.ok) {
      this.counters.errors += 1;
      // Before release(), so that a pending retry keeps the pool from looking idle.
      if ('attempt' in invocation) this.retryOrDrop(invocation);
    }
    this.release(worker);
    return report;
  }

  private release(worker: Worker): void {
    if (!worker.retired && !this.stopped) {
      const next = this.eventQueue.shift();
      if (next !== undefined) {
        void this.execute(worker, next);
        return;
      }
      this.idleWorkers.push(worker);
      const timer = setTimeout(() => this.reclaim(worker), this.options.idleTimeoutMs);
      timer.unref();
      this.idleTimers.set(worker, timer);
    }
    this.options.onSettled();
  }

  private reclaim(worker: Worker): void {
    this.write(`worker ${worker.pid} idle for ${this.options.idleTimeoutMs} ms: reclaimed`);
    this.idleTimers.delete(worker);
    this.idleWorkers.splice(this.idleWorkers.indexOf(worker), 1);
    worker.kill('SIGTERM');
  }

  private drainEventQueue(): void {
    while (this.eventQueue.length > 0) {
      const worker = this.acquire();
      if (worker === undefined) break;
      const next = this.eventQueue.shift();
      if (next !== undefined) void this.execute(worker, next);
    }
    this.options.onSettled();
  }

  private retryOrDrop(invocation: AsyncInvocation): void {
    if (this.stopped) return;
    if (invocation.attempt >= this.options.maximumRetryAttempts) {
      this.write(
        `async invocation ${invocation.requestId} failed after ${invocation.attempt + 1} attempt(s): dropped`,
      );
      return;
    }
    const delayMs = ASYNC_RETRY_BASE_DELAY_MS * 2 ** invocation.attempt;
    this.write(`async invocation ${invocation.requestId} failed: retry in ${delayMs} ms`);
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.eventQueue.push({ ...invocation, attempt: invocation.attempt + 1 });
      this.drainEventQueue();
    }, delayMs);
    this.retryTimers.add(timer);
  }

  private writeReport(requestId: string, report: InvocationReport): void {
    if (!report.outcome.ok) {
      this.write(
        `${new Date().toISOString()}\t${requestId}\tERROR\tInvoke Error \t${JSON.stringify(report.outcome.error)}`,
      );
    }
    this.write(`END RequestId: ${requestId}`);
    const fields = [
      `REPORT RequestId: ${requestId}`,
      `Duration: ${report.durationMs.toFixed(2)} ms`,
      `Billed Duration: ${Math.ceil(report.durationMs)} ms`,
      `Memory Size: ${this.options.memoryMb} MB`,
    ];
    if (report.rssBytes !== undefined)
      fields.push(`Max Memory Used: ${Math.round(report.rssBytes / 2 ** 20)} MB`);
    if (report.initDurationMs !== undefined)
      fields.push(`Init Duration: ${report.initDurationMs.toFixed(2)} ms`);
    this.write(fields.join('\t'));
  }

  private write(line: string): void {
    this.logStream.write(`${line}\n`);
    this.options.log?.(`[${this.options.name}] ${line}`);
  }
}
