import { type ChildProcess, fork } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { ChildMessage, LambdaErrorPayload, ParentMessage } from './protocol';

export interface WorkerOptions {
  runtimePath: string;
  taskRoot: string;
  env: Record<string, string>;
  timeoutMs: number;
  initTimeoutMs: number;
  onOutput: (line: string) => void;
}

export type InvocationOutcome = { ok: true; payload: string } | { ok: false; error: LambdaErrorPayload };

export interface InvocationReport {
  outcome: InvocationOutcome;
  durationMs: number;
  /** Set on the first invocation of a worker: its cold start's module load. */
  initDurationMs?: number;
  rssBytes?: number;
}

type InitState = { ok: true; initDurationMs: number } | { ok: false; error: LambdaErrorPayload };

interface PendingInvocation {
  requestId: string;
  settle: (outcome: InvocationOutcome, rssBytes?: number) => void;
}

// Names the Lambda service uses in Runtime.ExitError messages (Go's signal strings).
const signalDescriptions: Partial<Record<NodeJS.Signals, string>> = {
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
  SIGSEGV: 'segmentation fault',
  SIGABRT: 'aborted',
  SIGINT: 'interrupt',
};

/**
 * One execution environment: a child process running the runtime bootstrap, which loads the
 * function bundle at start (a real cold start) and then runs one invocation at a time.
 */
export class Worker {
  readonly pid: number;
  invocations = 0;
  busy = false;
  /** Killed or exited: takes no more invocations. */
  retired = false;
  readonly exited: Promise<void>;
  private readonly child: ChildProcess;
  private readonly init: Promise<InitState>;
  private initReported = false;
  private pending: PendingInvocation | undefined;
  private exitReason: string | undefined;

  constructor(private readonly options: WorkerOptions) {
    this.child = fork(options.runtimePath, [], {
      cwd: options.taskRoot,
      env: options.env,
      execArgv: ['--enable-source-maps'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Own process group: a Ctrl-C in the terminal reaches the CLI, which stops the stack,
      // rather than every child at once. Children still die with the parent (IPC disconnect).
      detached: true,
    });
    // A spawn that fails (EAGAIN, ENOMEM) leaves no pid and emits 'error' but never 'close'.
    this.pid = this.child.pid ?? -1;
    forwardLines(this.child.stdout, options.onOutput);
    forwardLines(this.child.stderr, options.onOutput);

    this.exited = new Promise((resolve) => {
      const finish = (reason: string) => {
        if (this.exitReason !== undefined) return;
        this.exitReason = reason;
        this.retired = true;
        this.onExit(reason);
        resolve();
      };
      // 'close', not 'exit': it comes after the IPC channel is drained, so a message the child
      // sent just before dying (a crash report) is seen before the death.
      this.child.once('close', (code, signal) =>
        finish(signal ? `signal: ${signalDescriptions[signal] ?? signal}` : `exit status ${code}`),
      );
      this.child.once('error', (err) => {
        options.onOutput(`worker ${this.pid}: ${err.message}`);
        if (this.child.pid === undefined) finish(`spawn failed: ${err.message}`);
        else this.kill('SIGKILL');
      });
    });
    this.init = this.initialize();
  }

  async run(requestId: string, payload: string): Promise<InvocationReport> {
    this.busy = true;
    this.invocations += 1;
    const started = performance.now();
    try {
      const init = await this.init;
      if (!init.ok)
        return { outcome: { ok: false, error: init.error }, durationMs: performance.now() - started };
      const handlerStarted = performance.now();
      const { outcome, rssBytes } = await this.runHandler(requestId, payload);
      const initDurationMs = this.initReported ? undefined : init.initDurationMs;
      this.initReported = true;
      return { outcome, durationMs: performance.now() - handlerStarted, initDurationMs, rssBytes };
    } finally {
      this.busy = false;
    }
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.retired = true;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  private initialize(): Promise<InitState> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        resolve({ ok: false, error: this.timeoutError(this.options.initTimeoutMs, 'Init timed out') });
        this.kill();
      }, this.options.initTimeoutMs);
      const settle = (state: InitState) => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        resolve(state);
      };
      const onMessage = (message: ChildMessage) => {
        if (message.type === 'ready') settle({ ok: true, initDurationMs: message.initDurationMs });
        else if (message.type === 'init-error') settle({ ok: false, error: message.error });
      };
      this.child.on('message', onMessage);
      void this.exited.then(() => settle({ ok: false, error: this.exitError(this.exitReason) }));
    });
  }

  private runHandler(
    requestId: string,
    payload: string,
  ): Promise<{ outcome: InvocationOutcome; rssBytes?: number }> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        settle({ ok: false, error: this.timeoutError(this.options.timeoutMs, 'Task timed out') });
        this.kill();
      }, this.options.timeoutMs);
      const onMessage = (message: ChildMessage) => {
        if (message.type === 'result' && message.requestId === requestId) {
          settle({ ok: true, payload: message.payload }, message.rssBytes);
        } else if (message.type === 'error' && message.requestId === requestId) {
          settle({ ok: false, error: message.error }, message.rssBytes);
        }
      };
      const settle = (outcome: InvocationOutcome, rssBytes?: number) => {
        if (this.pending === undefined) return;
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.pending = undefined;
        resolve({ outcome, rssBytes });
      };
      this.pending = { requestId, settle };
      this.child.on('message', onMessage);
      const message: ParentMessage = {
        type: 'invoke',
        requestId,
        payload,
        deadlineMs: Date.now() + this.options.timeoutMs,
      };
      this.child.send(message);
    });
  }

  private onExit(reason: string): void {
    const pending = this.pending;
    if (pending === undefined) return;
    const error = this.exitError(reason);
    pending.settle({
      ok: false,
      error: { ...error, errorMessage: `RequestId: ${pending.requestId} ${error.errorMessage}` },
    });
  }

  private exitError(reason: string | undefined): LambdaErrorPayload {
    return {
      errorType: 'Runtime.ExitError',
      errorMessage: `Error: Runtime exited with error: ${reason}`,
      trace: [],
    };
  }

  private timeoutError(limitMs: number, what: string): LambdaErrorPayload {
    return {
      errorType: 'Sandbox.Timedout',
      errorMessage: `${what} after ${(limitMs / 1000).toFixed(2)} seconds`,
      trace: [],
    };
  }
}

function forwardLines(stream: Readable | null, onLine: (line: string) => void): void {
  if (stream === null) return;
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => {
    if (partial !== '') onLine(partial);
  });
}
