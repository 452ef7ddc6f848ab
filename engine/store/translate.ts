import { NotFoundError, StoreUnreachableError } from '../errors';

const NETWORK_CODES = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'EAI_AGAIN',
];
const NETWORK_MESSAGE = new RegExp(`\\b(${NETWORK_CODES.join('|')})\\b`);

/**
 * True for failures where the store never answered (as opposed to answering "no"). The code is
 * also looked for in the message: the SDK re-wraps errors it does not recognise as its own
 * `Error` (as under jest, whose realm differs), keeping only their text.
 */
export function isNetworkError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, name, message, cause } = error as {
    code?: string;
    name?: string;
    message?: string;
    cause?: unknown;
  };
  if (code && NETWORK_CODES.includes(code)) return true;
  if (name === 'TimeoutError' || name === 'RequestTimeout') return true;
  if (message && NETWORK_MESSAGE.test(message)) return true;
  return cause !== undefined && cause !== error && isNetworkError(cause);
}

const UNREACHABLE_CODES = ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'];
const UNREACHABLE_MESSAGE = new RegExp(
  `\\b(${UNREACHABLE_CODES.join('|')})\\b|did not establish a connection with the server`,
);

/**
 * True for failures where no connection to the store was made at all: nothing listens there,
 * the name does not resolve, no route, or the connection did not open in time (the SDK's
 * connection timeout). A subset of isNetworkError: a reset connection or a request that timed
 * out after it was sent may have reached the store, these cannot have.
 */
export function isUnreachableError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, cause } = error as { code?: string; message?: string; cause?: unknown };
  if (code && UNREACHABLE_CODES.includes(code)) return true;
  if (message && UNREACHABLE_MESSAGE.test(message)) return true;
  return cause !== undefined && cause !== error && isUnreachableError(cause);
}

export function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** Runs a conditional write: true when it was applied, false when its condition did not hold. */
export async function applied(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}

export function isNoSuchKey(error: unknown): boolean {
  return error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound');
}

/**
 * Runs one store call and translates SDK failures into domain errors where they happen:
 * no answer becomes StoreUnreachableError naming the endpoint, a missing S3 key NotFoundError.
 * Everything else (including failed conditions, which callers interpret) passes through.
 */
export async function storeCall<T>(
  service: string,
  endpoint: string,
  what: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isNetworkError(error)) throw new StoreUnreachableError(service, endpoint, { cause: error });
    if (isNoSuchKey(error)) throw new NotFoundError(`${what} not found`, { cause: error });
    throw error;
  }
}
