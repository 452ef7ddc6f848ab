import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { endpointAuth, type RequestSigner, sigv4Signer } from '../cli/client';

/**
 * `npx tsx scripts/aws-proxy.ts https://{id}.execute-api.{region}.amazonaws.com [--port 8080]`
 *
 * The deployed API requires SigV4 on every route, which a browser cannot produce. This proxy
 * listens on 127.0.0.1 only and forwards each request to the API signed with your AWS
 * credentials (the standard chain, as the CLI uses), so the dashboard opens at
 * http://127.0.0.1:8080/ and `kasync jobs|status|stop|model` work without --endpoint.
 *
 * A POST from the proxy's own page gets the API's origin (the app refuses POSTs whose Origin
 * is another site); any other Origin is passed on unchanged, so other sites stay refused.
 */

const MAX_BODY_BYTES = 1024 * 1024;
const FORWARDED_REQUEST_HEADERS = ['content-type', 'accept'];
const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'content-disposition',
  'location',
  'x-kasync-version',
  'cache-control',
];

function parseArgs(argv: string[]): { upstream: URL; port: number } {
  const args = [...argv];
  let port = 8080;
  const portAt = args.indexOf('--port');
  if (portAt >= 0) {
    port = Number(args[portAt + 1]);
    args.splice(portAt, 2);
  }
  const target = args[0] ?? process.env.KASYNC_AWS_ENDPOINT;
  if (!target || !Number.isInteger(port) || port < 0 || port > 65_535) {
    process.stderr.write(
      'usage: tsx scripts/aws-proxy.ts https://{id}.execute-api.{region}.amazonaws.com [--port 8080]\n',
    );
    process.exit(2);
  }
  return { upstream: new URL(target), port };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_BODY_BYTES) throw Object.assign(new Error('body too large'), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function createProxy(upstream: URL, signer: RequestSigner, ownOrigins: () => string[]) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const url = new URL(req.url ?? '/', upstream);
      url.pathname = `${upstream.pathname.replace(/\/+$/, '')}${new URL(req.url ?? '/', 'http://x').pathname}`;
      const body = await readBody(req);
      const headers: Record<string, string> = {};
      for (const name of FORWARDED_REQUEST_HEADERS) {
        const value = req.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      const origin = req.headers.origin;
      if (origin) headers.origin = ownOrigins().includes(origin) ? upstream.origin : origin;
      const method = req.method ?? 'GET';
      const text = body.byteLength > 0 ? body.toString('utf8') : undefined;
      const signed = await signer({ method, url, headers, body: text });
      const response = await fetch(url, { method, headers: signed, body: text });
      const out: Record<string, string> = {};
      for (const name of FORWARDED_RESPONSE_HEADERS) {
        const value = response.headers.get(name);
        if (value !== null) out[name] = value;
      }
      res.writeHead(response.status, out);
      res.end(Buffer.from(await response.arrayBuffer()));
      process.stderr.write(`${method} ${url.pathname} -> ${response.status}\n`);
    } catch (error) {
      const status = (error as { status?: number }).status ?? 502;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `proxy: ${(error as Error).message}` }));
      process.stderr.write(`${req.method} ${req.url} -> ${status}: ${(error as Error).message}\n`);
    }
  };
}

if (require.main === module) {
  const { upstream, port } = parseArgs(process.argv.slice(2));
  // Always SigV4 here: the proxy exists for IAM-authorized APIs.
  const auth = endpointAuth(upstream, { ...process.env, KASYNC_SIGV4: '1', KASYNC_API_TOKEN: '' });
  if (auth.kind !== 'sigv4') throw new Error('unreachable: SigV4 is forced');
  let bound = port;
  const server = createServer(
    createProxy(upstream, sigv4Signer(auth.region), () => [
      `http://127.0.0.1:${bound}`,
      `http://localhost:${bound}`,
    ]),
  );
  server.listen(port, '127.0.0.1', () => {
    const address = server.address();
    if (address && typeof address === 'object') bound = address.port;
    process.stdout.write(
      `signing proxy for ${upstream.origin} (SigV4, ${auth.region}) at http://127.0.0.1:${bound}/ (Ctrl-C stops it)\n`,
    );
  });
  process.once('SIGINT', () => server.close(() => process.exit(0)));
}
