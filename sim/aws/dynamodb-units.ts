/**
 * DynamoDB's capacity accounting and request limits, as the Developer Guide states them
 * ("DynamoDB read and write operations", "DynamoDB item sizes and formats", "Constraints in
 * Amazon DynamoDB"). Sizes are bytes; DynamoDB's KB is 1,024 bytes.
 */

/** One write unit covers up to 1 KB of item; larger items round up to the next 1 KB. */
export const WRITE_UNIT_BYTES = 1024;
/** One strongly consistent read unit covers up to 4 KB; larger items round up to the next 4 KB. */
export const READ_UNIT_BYTES = 4096;
/** "The maximum item size in DynamoDB is 400 KB" (attribute names and values, UTF-8 lengths). */
export const MAX_ITEM_BYTES = 400 * 1024;
/** "The maximum length of any expression string is 4 KB" (Condition, Update, Projection, Filter). */
export const MAX_EXPRESSION_BYTES = 4096;

export type DynamoOp = 'get' | 'put' | 'update' | 'delete' | 'query' | 'batch-get' | 'batch-write';

export interface UnitOptions {
  /**
   * Reads only: strongly consistent, one unit per 4 KB. Default false, eventually consistent
   * (half a unit per 4 KB), which is GetItem's and Query's default.
   */
  readonly consistent?: boolean;
  /** TransactGetItems / TransactWriteItems: two units per 4 KB read or per 1 KB written. */
  readonly transactional?: boolean;
  /**
   * put and update: the size of the item already stored. PutItem counts the larger of the old and
   * new item, UpdateItem the larger of the item before and after, even when it sets one attribute.
   */
  readonly previousBytes?: number;
}

export interface Units {
  readonly readUnits: number;
  readonly writeUnits: number;
}

/**
 * Capacity units one request consumes. `itemBytes` is the item's size (see itemBytes), or for
 * query and the batch operations the size of each item read or written.
 *
 * A conditional write whose condition fails consumes the same write units as if it had succeeded:
 * "If the expression evaluates to false, DynamoDB still consumes write capacity units from the
 * table", sized by the item it would have written (the Guide's example: an existing 300 KB item, a
 * 310 KB update, 310 KB counted). The failed request's response does not say so: the
 * ConditionalCheckFailedException carries no ConsumedCapacity even when ReturnConsumedCapacity is
 * set, so a client that sums ConsumedCapacity under-counts by exactly these writes.
 *
 * A read of an item that does not exist, or a query that matches nothing, still consumes one 4 KB
 * block ("DynamoDB will still consume read throughput"); a write of a new, small item one unit.
 */
export function dynamoUnits(
  op: DynamoOp,
  itemBytes: number | readonly number[],
  options: UnitOptions = {},
): Units {
  const sizes = typeof itemBytes === 'number' ? [itemBytes] : itemBytes;
  const factor = options.transactional ? 2 : 1;
  switch (op) {
    case 'get':
    case 'batch-get':
      // Each item of a batch is its own GetItem: rounded up one by one, then summed.
      return { readUnits: readUnits(sum(sizes.map(roundRead)), options) * factor, writeUnits: 0 };
    case 'query':
      // A query is one read: the sizes of all items are summed first, then rounded once.
      return { readUnits: readUnits(roundRead(sum(sizes)), options) * factor, writeUnits: 0 };
    case 'put':
    case 'update': {
      const previous = options.previousBytes ?? 0;
      const units = sum(sizes.map((size) => roundWrite(Math.max(size, previous))));
      return { readUnits: 0, writeUnits: units * factor };
    }
    case 'delete':
    case 'batch-write':
      return { readUnits: 0, writeUnits: sum(sizes.map(roundWrite)) * factor };
  }
}

/** Rounded-up bytes, in 4 KB blocks; at least one block. */
function roundRead(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / READ_UNIT_BYTES));
}

function roundWrite(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES));
}

function readUnits(blocks: number, options: UnitOptions): number {
  // A transactional read is always strongly consistent: 2 units per block (the factor above).
  return options.consistent || options.transactional ? blocks : blocks / 2;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** What DynamoDB answers a request over a documented limit with (HTTP 400). */
export class DynamoValidationError extends Error {
  override readonly name = 'ValidationException';
}

/** An error when the expression is longer than 4,096 bytes of UTF-8; undefined when it is allowed. */
export function checkExpression(expression: string): DynamoValidationError | undefined {
  const bytes = utf8Length(expression);
  return bytes > MAX_EXPRESSION_BYTES
    ? new DynamoValidationError(
        `expression of ${bytes} bytes exceeds the ${MAX_EXPRESSION_BYTES}-byte maximum`,
      )
    : undefined;
}

/** An error when an item is larger than 400 KB; undefined when it fits. */
export function checkItemSize(bytes: number): DynamoValidationError | undefined {
  return bytes > MAX_ITEM_BYTES
    ? new DynamoValidationError(`item of ${bytes} bytes exceeds the ${MAX_ITEM_BYTES}-byte maximum item size`)
    : undefined;
}

/**
 * An item's size by the Guide's rules, for an item as the DocumentClient takes it (plain JS
 * values): the sum over attributes of the name's UTF-8 length plus the value's size, where
 * - a string is its UTF-8 length; binary (Uint8Array, ArrayBuffer) its raw length;
 * - a number is about 1 byte per two significant digits plus 1 (leading and trailing zeros trimmed);
 * - a boolean or null is 1 byte;
 * - a list or map is 3 bytes plus its elements, each element 1 byte more (a map element's size
 *   includes its name);
 * - a set (JS Set: string, number or binary set) is the sum of its elements (the Guide gives no
 *   overhead for sets; this is the approximation);
 * - undefined attributes are left out, as the DocumentClient's removeUndefinedValues does.
 * The Guide calls the number rule approximate, so is this estimate.
 */
export function itemBytes(item: object): number {
  let total = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    total += utf8Length(name) + valueBytes(value);
  }
  return total;
}

const CONTAINER_OVERHEAD = 3;
const ELEMENT_OVERHEAD = 1;

function valueBytes(value: unknown): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return utf8Length(value);
  if (typeof value === 'number' || typeof value === 'bigint') return numberBytes(value);
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof ArrayBuffer) return value.byteLength;
  if (value instanceof Set) {
    let total = 0;
    for (const element of value) total += valueBytes(element);
    return total;
  }
  if (Array.isArray(value)) {
    let total = CONTAINER_OVERHEAD;
    for (const element of value) if (element !== undefined) total += valueBytes(element) + ELEMENT_OVERHEAD;
    return total;
  }
  if (typeof value === 'object') {
    let total = CONTAINER_OVERHEAD;
    for (const [name, element] of Object.entries(value)) {
      if (element !== undefined) total += utf8Length(name) + valueBytes(element) + ELEMENT_OVERHEAD;
    }
    return total;
  }
  throw new TypeError(`DynamoDB cannot store a ${typeof value}`);
}

function numberBytes(value: number | bigint): number {
  return Math.ceil(significantDigits(value) / 2) + 1;
}

function significantDigits(value: number | bigint): number {
  if (typeof value === 'bigint') {
    const digits = (value < 0n ? -value : value).toString().replace(/0+$/, '');
    return Math.max(1, digits.length);
  }
  // toExponential() writes the shortest mantissa that round-trips: no leading or trailing zeros.
  const mantissa = Math.abs(value).toExponential().split('e')[0] as string;
  return mantissa.replace('.', '').length;
}

/** UTF-8 length of a JS string (lone surrogates count 3 bytes, as their replacement character). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (
      code >= 0xd800 &&
      code < 0xdc00 &&
      i + 1 < text.length &&
      isLowSurrogate(text.charCodeAt(i + 1))
    ) {
      bytes += 4; // A surrogate pair is one code point above U+FFFF.
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code < 0xe000;
}
