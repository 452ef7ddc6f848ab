import net from 'node:net';
import path from 'node:path';
import type { LocalStack } from '../../../local/stack';

export const fixture = (file: string) => path.resolve(__dirname, '../../fixtures/local', file);

/** Client settings naming the stack explicitly, as code that does not read the environment would. */
export function clientConfig(stack: LocalStack, service: keyof LocalStack['endpoints']) {
  return {
    region: stack.env.AWS_REGION,
    endpoint: stack.endpoints[service],
    credentials: {
      accessKeyId: stack.env.AWS_ACCESS_KEY_ID,
      secretAccessKey: stack.env.AWS_SECRET_ACCESS_KEY,
    },
  };
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function acceptsConnections(endpoint: string): Promise<boolean> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('waitFor: timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
