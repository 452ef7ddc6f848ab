import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { ApiClient, endpointAuth } from '../../../cli/client';

/**
 * `--endpoint` against AWS: requests to API Gateway are signed with SigV4 (service
 * `execute-api`). A server on 127.0.0.1 records what arrives; the signature is then recomputed
 * from the request as received, which is what API Gateway does.
 */

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG',
  sessionToken: 'token-1',
};

describe('ApiClient authentication', () => {
  let server: Server;
  let base: string;
  const received: Received[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
        res.writeHead(req.method === 'POST' ? 202 : 200, { 'content-type': 'application/json' });
        const reply = req.url?.startsWith('/uploads/') ? '{"uri":"s3://b/k"}' : '{"jobId":"job-abc"}';
        res.end(req.method === 'POST' ? reply : '{"jobs":[]}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => {
    received.length = 0;
  });

  /** Signs the request as it arrived, at the time it says it was signed, with the headers it says it signed. */
  async function expectValidSignature(request: Received, region: string) {
    const authorization = String(request.headers.authorization);
    const signedHeaders = authorization.match(/SignedHeaders=([^,]+)/)?.[1]?.split(';') ?? [];
    const amzDate = String(request.headers['x-amz-date']);
    const signingDate = new Date(
      `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
    );
    const headers = Object.fromEntries(signedHeaders.map((name) => [name, String(request.headers[name])]));
    const url = new URL(request.path, base);
    const expected = await new SignatureV4({
      service: 'execute-api',
      region,
      credentials: CREDENTIALS,
      sha256: Sha256,
    }).sign(
      {
        method: request.method,
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        body: request.body.length > 0 ? new Uint8Array(request.body) : undefined,
      },
      { signingDate },
    );
    expect(authorization).toBe(expected.headers.authorization);
    // The signature covers this header's payload hash; API Gateway checks it against the body.
    const payloadHash = request.headers['x-amz-content-sha256'];
    if (payloadHash !== undefined) {
      expect(payloadHash).toBe(createHash('sha256').update(request.body).digest('hex'));
    }
  }

  it('signs GET and POST requests with SigV4 for execute-api when told to', async () => {
    const client = new ApiClient(base, {
      env: { KASYNC_SIGV4: '1', KASYNC_SIGV4_REGION: 'eu-west-1' },
      credentials: async () => CREDENTIALS,
    });
    expect(client.auth).toEqual({ kind: 'sigv4', region: 'eu-west-1' });
    await client.jobs();
    await client.submit({ model: 'softmax', dataset: 'mnist' });
    expect(received.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /jobs', 'POST /jobs']);
    for (const request of received) {
      expect(request.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
      );
      expect(request.headers['x-amz-security-token']).toBe('token-1');
      await expectValidSignature(request, 'eu-west-1');
    }
    expect(received[1]?.headers.authorization).toMatch(/SignedHeaders=[^,]*content-type/);
    expect(received[1]?.body.toString()).toBe('{"model":"softmax","dataset":"mnist"}');
  });

  it('signs the bytes of an upload, not an empty payload', async () => {
    const client = new ApiClient(base, {
      env: { KASYNC_SIGV4: '1', KASYNC_SIGV4_REGION: 'eu-west-1' },
      credentials: async () => CREDENTIALS,
    });
    const bytes = Uint8Array.from([0x08, 0x07, 0x12, 0xff, 0x00, 0x80]);
    expect(await client.upload('model', bytes)).toBe('s3://b/k');
    const [request] = received as [Received];
    expect(new Uint8Array(request.body)).toEqual(bytes);
    await expectValidSignature(request, 'eu-west-1');
  });

  it('takes credentials from the standard chain (here: the environment)', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
    });
    try {
      await new ApiClient(base, { env: { KASYNC_SIGV4: '1', AWS_REGION: 'us-west-2' } }).jobs();
    } finally {
      for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'])
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
    }
    const [request] = received;
    expect(request?.headers.authorization).toMatch(/Credential=AKIDEXAMPLE\/\d{8}\/us-west-2\/execute-api\//);
    await expectValidSignature(request as Received, 'us-west-2');
  });

  it('signs for API Gateway hosts by default, with the region of the host, and nothing else', () => {
    const url = (s: string) => new URL(s);
    expect(endpointAuth(url('https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com'), {})).toEqual({
      kind: 'sigv4',
      region: 'eu-central-1',
    });
    expect(endpointAuth(url('http://127.0.0.1:8080'), { AWS_REGION: 'us-east-1' })).toEqual({ kind: 'none' });
    expect(
      endpointAuth(url('https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com'), { KASYNC_SIGV4: '0' }),
    ).toEqual({ kind: 'none' });
    expect(
      endpointAuth(url('https://kasync.example.com'), { KASYNC_SIGV4: 'true', AWS_REGION: 'sa-east-1' }),
    ).toEqual({ kind: 'sigv4', region: 'sa-east-1' });
    expect(() => endpointAuth(url('https://kasync.example.com'), { KASYNC_SIGV4: '1' })).toThrow(
      /needs a region: set KASYNC_SIGV4_REGION or AWS_REGION/,
    );
  });

  it('sends a bearer token instead when KASYNC_API_TOKEN is set (JWT deployments)', async () => {
    await new ApiClient(base, { env: { KASYNC_API_TOKEN: 'eyJhbGciOi.x.y' } }).jobs();
    expect(received[0]?.headers.authorization).toBe('Bearer eyJhbGciOi.x.y');
  });

  it('sends no authorization to a local `kasync up`', async () => {
    await new ApiClient(base, { env: {} }).jobs();
    expect(received[0]?.headers.authorization).toBeUndefined();
    expect(received[0]?.headers['x-amz-date']).toBeUndefined();
  });

  it('says how to fix missing credentials', async () => {
    const client = new ApiClient(base, {
      env: { KASYNC_SIGV4: '1', AWS_REGION: 'us-east-1' },
      credentials: () => Promise.reject(new Error('Could not load credentials from any providers')),
    });
    await expect(client.jobs()).rejects.toThrow(
      /cannot sign requests to 127\.0\.0\.1:\d+ with AWS credentials \(Could not load credentials from any providers\); configure them/,
    );
    expect(received).toEqual([]);
  });
});
