// Messages between the Invoke server (parent) and a runtime child, over the Node IPC channel.
// Payloads travel as JSON text, as they do through the Lambda Runtime API, so a handler sees
// exactly what JSON.parse gives it on AWS and returns what JSON.stringify makes of its value.

/** The body Lambda returns when an invocation fails (`X-Amz-Function-Error: Unhandled`). */
export interface LambdaErrorPayload {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

export interface InvokeMessage {
  type: 'invoke';
  requestId: string;
  payload: string;
  /** Epoch milliseconds; the parent kills the child when it passes. */
  deadlineMs: number;
}

export type ParentMessage = InvokeMessage;

export type ChildMessage =
  | { type: 'ready'; initDurationMs: number }
  | { type: 'init-error'; error: LambdaErrorPayload }
  | { type: 'result'; requestId: string; payload: string; rssBytes: number }
  | { type: 'error'; requestId: string; error: LambdaErrorPayload; rssBytes: number };

export function toLambdaError(thrown: unknown, errorType?: string): LambdaErrorPayload {
  if (thrown instanceof Error) {
    return {
      errorType: errorType ?? thrown.name,
      errorMessage: thrown.message,
      trace: (thrown.stack ?? '').split('\n'),
    };
  }
  return { errorType: errorType ?? 'Error', errorMessage: String(thrown), trace: [] };
}
