import { NotFoundError, StoreUnreachableError } from '../errors';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);

/** True for failures where the store never answered (as opposed to answering "no"). */
export function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: string }).code;
  if (code && NETWORK_CODES.has(code)) return true;
  if (error.name === 'TimeoutError' || error.name === 'RequestTimeout') return true;
  const cause = (error as { cause?: unknown }).cause;
  return cause !== undefined && cause !== error && isNetworkError(cause);
}

export function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

export function isNoSuchKey(error: unknown): boolean {
  return error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound');
}

/**
 * Runs one store call and translates SDK failures into domain errors where they happen:
 * no answer becomes StoreUnreachableError naming the endpoint, a missing S3 key NotFoundError.
 * Everything else (including failed conditions, which callers interpret) passes through.
 */
export async function storeCall<T>(service: string, endpoint: string, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isNetworkError(error)) throw new StoreUnreachableError(service, endpoint, { cause: error });
    if (isNoSuchKey(error)) throw new NotFoundError(`${what} not found`, { cause: error });
    throw error;
  }
}
