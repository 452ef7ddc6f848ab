import { TestEnvironment } from 'jest-environment-node';

/**
 * Jest runs tests in a vm context with its own typed-array constructors. onnxruntime-node's
 * native binding creates output arrays in the main realm, and onnxruntime-common (loaded
 * inside the vm) then rejects them with `instanceof Float32Array`: "A float32 tensor's data
 * must be type of function Float32Array()". Sharing the main realm's constructors with the
 * test context makes outputs pass that check. Use with `@jest-environment` in a docblock.
 */
const TYPED_ARRAYS = [
  'Float32Array',
  'Float64Array',
  'Int8Array',
  'Uint8Array',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'BigInt64Array',
  'BigUint64Array',
] as const;

export default class OrtTestEnvironment extends TestEnvironment {
  constructor(...args: ConstructorParameters<typeof TestEnvironment>) {
    super(...args);
    Object.assign(this.global, Object.fromEntries(TYPED_ARRAYS.map((name) => [name, globalThis[name]])));
  }
}
