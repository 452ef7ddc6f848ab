import { UnsupportedOpError } from '../../../model/errors';

/** The UnsupportedOpError `run` throws; fails the test if it throws nothing or something else. */
export function unsupportedOps(run: () => unknown): UnsupportedOpError {
  try {
    run();
  } catch (error) {
    if (error instanceof UnsupportedOpError) return error;
    throw error;
  }
  throw new Error('expected an UnsupportedOpError');
}
