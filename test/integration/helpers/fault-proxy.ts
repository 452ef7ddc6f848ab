import { randomUUID } from 'node:crypto';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A fault-injecting HTTP proxy for tests, on 127.0.0.1 only: it forwards to a DynamoDB or S3
 * endpoint (dynalite, s3rver) and, as switched, answers a fraction of the requests with the
 * service's own throttling error, loses responses after the target applied the request, delays
 * requests, or goes away (refuses or resets connections). Decisions come from a seeded generator,
 * so a run's sequence of faults repeats for the same sequence of requests. Nothing here knows
 * kasync: point any SDK client (`endpoint`, or `AWS_ENDPOINT_URL_DYNAMODB` / `_S3` of a child
 * process) at `endpoint`.
 */

export type ProxiedService = 'dynamodb' | 's3';

/** What a filter sees of a request (the body is complete: requests are buffered). */
export interface ProxiedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** DynamoDB: the operation (`UpdateItem`, from X-Amz-Target); S3: the method and the path. */
  readonly operation: string;
}

export interface FaultModes {
  /** Fraction of requests answered with the service's throttling error (never forwarded). */
  readonly throttle?: number;
  /** Fraction of the forwarded requests whose response is lost: the target applies the request, the client's socket is destroyed. */
  readonly drop?: number;
  /** Every forwarded request waits this long first. */
  readonly delayMs?: number;
  /** Only requests for which this holds are subject to throttle and drop (default: all). */
  readonly filter?: (request: ProxiedRequest) => boolean;
}

export interface FaultCounters {
  /** Requests received (complete request bodies). */
  requests: number;
  /** Requests passed to the target (dropped ones included). */
  forwarded: number;
  throttled: number;
  dropped: number;
  delayed: number;
  /** Connections destroyed while the proxy was down ('reset'), or open when it went down. */
  connectionsKilled: number;
  /** Times the proxy went down. */
  downs: number;
  /** Requests the target did not answer (the client's socket is destroyed). */
  upstreamErrors: number;
  /** Faults by operation, e.g. `{ 'throttled UpdateItem': 12 }`. */
  byOperation: Record<string, number>;
}

export interface FaultProxy {
  readonly endpoint: string;
  readonly counters: Readonly<FaultCounters>;
  /** Where requests go; may be set after start (the proxy's endpoint is known first). */
  setTarget(target: string): void;
  /** Replaces the current modes; `set({})` forwards everything untouched. */
  set(modes: FaultModes): void;
  /**
   * Goes away: 'refuse' stops listening (clients get ECONNREFUSED), 'reset' accepts and destroys
   * every connection. Open connections are destroyed either way.
   */
  down(how?: 'refuse' | 'reset'): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  /** Closes everything; safe to call twice. */
  stop(): Promise<void>;
}

export interface FaultProxyOptions {
  readonly service: ProxiedService;
  readonly target?: string;
  readonly seed?: number;
  readonly modes?: FaultModes;
  /** Called for every fault injected, with the request it hit. */
  readonly onFault?: (fault: 'throttled' | 'dropped', request: ProxiedRequest) => void;
}

/** mulberry32: a small seeded generator of uniform numbers in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade']);

function operationOf(service: ProxiedService, req: IncomingMessage): string {
  if (service === 'dynamodb') {
    const target = String(req.headers['x-amz-target'] ?? '');
    return target.slice(target.lastIndexOf('.') + 1) || req.method || '';
  }
  return `${req.method} ${(req.url ?? '').split('?')[0]}`;
}

/** The service's own answer to a request it throttles. */
function throttleAnswer(service: ProxiedService, method: string) {
  const requestId = randomUUID();
  if (service === 'dynamodb') {
    return {
      status: 400,
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId },
      body: JSON.stringify({
        __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
        message:
          'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
      }),
    };
  }
  return {
    status: 503,
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId, 'x-amz-id-2': requestId },
    // A HEAD answer has no body; the SDK classifies it by its status.
    body:
      method === 'HEAD'
        ? ''
        : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>${requestId}</RequestId><HostId>${requestId}</HostId></Error>`,
  };
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const { service } = options;
  const random = seeded(options.seed ?? 1);
  let target = options.target ? new URL(options.target) : undefined;
  let modes: FaultModes = options.modes ?? {};
  let state: 'up' | 'refuse' | 'reset' = 'up';
  let stopped = false;
  const counters: FaultCounters = {
    requests: 0,
    forwarded: 0,
    throttled: 0,
    dropped: 0,
    delayed: 0,
    connectionsKilled: 0,
    downs: 0,
    upstreamErrors: 0,
    byOperation: {},
  };
  const count = (fault: string, operation: string) => {
    const key = `${fault} ${operation}`;
    counters.byOperation[key] = (counters.byOperation[key] ?? 0) + 1;
  };
  const agent = new http.Agent({ keepAlive: true });
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      if (target === undefined) return reject(new Error('fault proxy has no target'));
      const upstream = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          // The Host header stays the proxy's: clients signed their requests with it.
          headers: { ...req.headers, 'content-length': String(body.length) },
          agent,
        },
        (res) => {
          readBody(res).then(
            (answer) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: answer }),
            reject,
          );
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    counters.requests++;
    const operation = operationOf(service, req);
    const request: ProxiedRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      body,
      operation,
    };
    const current = modes;
    const subject = current.filter === undefined || current.filter(request);
    if (subject && random() < (current.throttle ?? 0)) {
      counters.throttled++;
      count('throttled', operation);
      options.onFault?.('throttled', request);
      const answer = throttleAnswer(service, request.method);
      res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
      res.end(request.method === 'HEAD' ? undefined : answer.body);
      return;
    }
    const drop = subject && random() < (current.drop ?? 0);
    if ((current.delayMs ?? 0) > 0) {
      counters.delayed++;
      await sleep(current.delayMs ?? 0);
    }
    counters.forwarded++;
    let answer: Awaited<ReturnType<typeof forward>>;
    try {
      answer = await forward(req, body);
    } catch {
      counters.upstreamErrors++;
      req.socket.destroy();
      return;
    }
    if (drop) {
      // The target has applied the request and answered; the client never hears of it.
      counters.dropped++;
      count('dropped', operation);
      options.onFault?.('dropped', request);
      req.socket.destroy();
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(answer.headers))
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    // A HEAD answer carries the object's length and no body.
    headers['content-length'] =
      request.method === 'HEAD' ? String(answer.headers['content-length'] ?? 0) : String(answer.body.length);
    res.writeHead(answer.status, headers);
    res.end(request.method === 'HEAD' ? undefined : answer.body);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => req.socket.destroy());
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket) => {
    if (state === 'reset') {
      counters.connectionsKilled++;
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) {
        counters.connectionsKilled++;
        socket.destroy();
      }
    });
  const port = await listen(0);

  return {
    endpoint: `http://127.0.0.1:${port}`,
    counters,
    setTarget: (url) => {
      target = new URL(url);
    },
    set: (next) => {
      modes = next;
    },
    down: async (how = 'refuse') => {
      if (state !== 'up' || stopped) return;
      counters.downs++;
      state = how;
      if (how === 'refuse') await close();
      else
        for (const socket of sockets) {
          counters.connectionsKilled++;
          socket.destroy();
        }
    },
    up: async () => {
      if (state === 'up' || stopped) return;
      const wasRefusing = state === 'refuse';
      state = 'up';
      if (wasRefusing) await listen(port);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (server.listening) await close();
      agent.destroy();
    },
  };
}
