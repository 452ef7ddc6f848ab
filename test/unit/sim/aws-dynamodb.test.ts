import fc from 'fast-check';
import {
  checkExpression,
  checkItemSize,
  DynamoTable,
  DynamoValidationError,
  dynamoUnits,
  itemBytes,
  utf8Length,
} from '../../../sim/aws-limits';

/** Offers `rate` requests a second of `writeUnits` each, on one key, for `seconds`, from `start`. */
function offer(
  table: DynamoTable,
  rate: number,
  seconds: number,
  start = 0,
  units: { readUnits?: number; writeUnits?: number } = { writeUnits: 1 },
  key = 'JOB#a',
) {
  let throttled = 0;
  const count = Math.round(rate * seconds);
  for (let i = 0; i < count; i++)
    if (table.request({ key, ...units }, start + i / rate).throttled) throttled++;
  return { count, throttled, admitted: count - throttled };
}

describe('DynamoDB per-partition throttling', () => {
  it('throttles about a third of a sustained 1,500 WCU/s on one key: 1,000/s pass, plus the 1 s burst', () => {
    const table = new DynamoTable();
    const run = offer(table, 1500, 60);
    expect(run.throttled / run.count).toBeGreaterThan(0.31);
    expect(run.throttled / run.count).toBeLessThan(0.34);
    // 60 s at 1,000 WCU/s plus one second of burst, to a request or two.
    expect(run.admitted).toBeGreaterThanOrEqual(60_990);
    expect(run.admitted).toBeLessThanOrEqual(61_001);
    expect(table.stats).toMatchObject({
      requests: 90_000,
      throttled: run.throttled,
      writeUnits: run.admitted,
    });
  });

  it('throttles none of a steady 900 WCU/s, from a full bucket or right after a burst emptied it', () => {
    expect(offer(new DynamoTable(), 900, 60).throttled).toBe(0);
    const table = new DynamoTable();
    const burst = offer(table, 1e6, 0.002); // 2,000 writes within 2 ms: the burst and 2 ms of refill
    expect(burst.admitted).toBeGreaterThanOrEqual(1000);
    expect(burst.admitted).toBeLessThanOrEqual(1002);
    expect(offer(table, 900, 60, 0.002 + 1 / 900).throttled).toBe(0);
  });

  it('serves 3,000 RCU/s of reads, and the linear combination of reads and writes', () => {
    expect(offer(new DynamoTable(), 3000, 30, 0, { readUnits: 1 }).throttled).toBe(0);
    expect(offer(new DynamoTable(), 3300, 30, 0, { readUnits: 1 }).throttled).toBeGreaterThan(2000);
    const interleaved = (writes: number) => {
      const table = new DynamoTable();
      const events: { t: number; read: boolean }[] = [];
      for (let i = 0; i < 30 * 1500; i++) events.push({ t: i / 1500, read: true });
      for (let i = 0; i < 30 * writes; i++) events.push({ t: i / writes, read: false });
      events.sort((a, b) => a.t - b.t);
      return events.filter(
        (e) =>
          table.request({ key: 'k', readUnits: e.read ? 1 : 0, writeUnits: e.read ? 0 : 1 }, e.t).throttled,
      ).length;
    };
    expect(interleaved(500)).toBe(0); // 1,500 RCU + 500 WCU = exactly the partition's line
    expect(interleaved(600)).toBeGreaterThan(1500); // 100 WCU/s over it for 30 s, less the burst
  });

  it('gives every key its own partition: ten keys at 900 WCU/s each throttle none', () => {
    const table = new DynamoTable();
    let throttled = 0;
    for (let i = 0; i < 900 * 20; i++) {
      for (let k = 0; k < 10; k++)
        if (table.request({ key: `JOB#${k}`, writeUnits: 1 }, i / 900).throttled) throttled++;
    }
    expect(throttled).toBe(0);
    expect(table.partitionCount).toBe(10);
  });

  it('charges a failed conditional write its units, which drain the partition like any write', () => {
    const units = dynamoUnits('update', 1800, { previousBytes: 1500 });
    expect(units).toEqual({ readUnits: 0, writeUnits: 2 });
    const table = new DynamoTable();
    for (let i = 0; i < 500; i++) {
      expect(table.request({ key: 'k', ...units, conditionFailed: true }, 0).throttled).toBe(false);
    }
    expect(table.stats).toMatchObject({
      requests: 500,
      conditionFailed: 500,
      writeUnits: 1000,
      throttled: 0,
    });
    // 500 failed 2-WCU updates spent the whole burst: the next write at the same instant is refused.
    expect(table.request({ key: 'k', writeUnits: 1 }, 0).throttled).toBe(true);
    expect(table.availableAt({ key: 'k', writeUnits: 1 }, 0)).toBeCloseTo(0.001, 9);
  });
});

describe('DynamoDB capacity units', () => {
  it('rounds writes up to 1 KB and reads up to 4 KB, as the Developer Guide examples do', () => {
    expect(dynamoUnits('put', 1).writeUnits).toBe(1);
    expect(dynamoUnits('put', 1024).writeUnits).toBe(1);
    expect(dynamoUnits('put', 1025).writeUnits).toBe(2);
    expect(dynamoUnits('delete', 1.6 * 1024).writeUnits).toBe(2); // "an item of 1.6 KB ... 2 KB"
    expect(dynamoUnits('put', 400 * 1024).writeUnits).toBe(400);
    expect(dynamoUnits('put', 2048, { transactional: true }).writeUnits).toBe(4); // "2 KB ... 4 write units"
    // A put or update counts the larger of the stored and the new item (300 KB stored, 310 KB new).
    expect(dynamoUnits('update', 310 * 1024, { previousBytes: 300 * 1024 }).writeUnits).toBe(310);
    expect(dynamoUnits('update', 100, { previousBytes: 3000 }).writeUnits).toBe(3);
    // BatchWriteItem rounds each item: 500 B and 3.5 KB count 5 KB, not 4.
    expect(dynamoUnits('batch-write', [500, 3.5 * 1024]).writeUnits).toBe(5);
  });

  it('halves eventually consistent reads, doubles transactional ones, and sums a query before rounding', () => {
    expect(dynamoUnits('get', 3500).readUnits).toBe(0.5);
    expect(dynamoUnits('get', 3500, { consistent: true }).readUnits).toBe(1);
    expect(dynamoUnits('get', 8 * 1024).readUnits).toBe(1); // "8 KB: 1 read unit eventually consistent"
    expect(dynamoUnits('get', 8 * 1024, { consistent: true }).readUnits).toBe(2);
    expect(dynamoUnits('get', 8 * 1024, { transactional: true }).readUnits).toBe(4);
    expect(dynamoUnits('get', 10 * 1024, { consistent: true }).readUnits).toBe(3); // 10 KB rounds to 12 KB
    expect(dynamoUnits('get', 0, { consistent: true }).readUnits).toBe(1); // a missing item still costs
    // Query: 10 items of 40.8 KB in all round to 44 KB once.
    const tenItems = Array.from({ length: 10 }, () => 4.08 * 1024);
    expect(dynamoUnits('query', tenItems, { consistent: true }).readUnits).toBe(11);
    // 1,500 items of 64 bytes: 96 KB.
    expect(dynamoUnits('query', Array(1500).fill(64), { consistent: true }).readUnits).toBe(24);
    // BatchGetItem rounds each: 1.5 KB and 6.5 KB count 12 KB.
    expect(dynamoUnits('batch-get', [1.5 * 1024, 6.5 * 1024], { consistent: true }).readUnits).toBe(3);
    expect(dynamoUnits('query', [1.5 * 1024, 6.5 * 1024], { consistent: true }).readUnits).toBe(2);
  });
});

describe('DynamoDB limits', () => {
  it('refuses an expression over 4,096 bytes of UTF-8', () => {
    expect(checkExpression('a=b')).toBeUndefined();
    expect(checkExpression('x'.repeat(4096))).toBeUndefined();
    const error = checkExpression('x'.repeat(4097));
    expect(error).toBeInstanceOf(DynamoValidationError);
    expect(error?.name).toBe('ValidationException');
    // Bytes, not characters: 2,049 two-byte characters are 4,098 bytes.
    expect(checkExpression('é'.repeat(2049))).toBeInstanceOf(DynamoValidationError);
    expect(checkExpression('é'.repeat(2048))).toBeUndefined();
  });

  it('refuses an item over 400 KB', () => {
    expect(checkItemSize(400 * 1024)).toBeUndefined();
    expect(checkItemSize(400 * 1024 + 1)).toBeInstanceOf(DynamoValidationError);
  });
});

describe('itemBytes', () => {
  it('adds attribute names and values by the documented rules', () => {
    expect(itemBytes({ a: 'xyz' })).toBe(1 + 3);
    expect(itemBytes({ n: 123 })).toBe(1 + 3); // 3 significant digits: 2 bytes + 1
    expect(itemBytes({ n: 100 })).toBe(1 + 2); // trailing zeros trimmed
    expect(itemBytes({ n: 0.001 })).toBe(1 + 2); // leading zeros trimmed
    expect(itemBytes({ n: 12345.678 })).toBe(1 + 5); // 8 digits
    expect(itemBytes({ n: 10n ** 30n + 1n })).toBe(1 + 17); // 31 digits
    expect(itemBytes({ b: true, z: null })).toBe(2 + 2);
    expect(itemBytes({ bin: new Uint8Array(10) })).toBe(3 + 10);
    // A list: 3 bytes, each element its size plus 1.
    expect(itemBytes({ l: [1, 'ab'] })).toBe(1 + 3 + (2 + 1) + (2 + 1));
    // A map: its elements' names count too.
    expect(itemBytes({ m: { x: true } })).toBe(1 + 3 + (1 + 1 + 1));
    expect(itemBytes({ m: {}, l: [] })).toBe(1 + 3 + 1 + 3);
    expect(itemBytes({ s: new Set(['ab', 'c']) })).toBe(1 + 3);
    expect(itemBytes({ gone: undefined, é: '😀' })).toBe(2 + 4);
  });

  it('measures a job item of this project’s shape', () => {
    const entry = {
      grad: 'grads/j/L0/1-0.f32',
      learner: 'L0',
      version: 12,
      loss: 0.6875,
      at: 1_700_000_000_000,
    };
    // Names and values: grad 4 + 18, learner 7 + 2, version 7 + 2, loss 4 + 3 (4 digits), at 2 + 2.
    expect(itemBytes(entry)).toBe(51);
    // In the pending list each entry is a map (3 bytes, 1 per attribute) and a list element (1).
    const job = (pending: number) => ({
      pk: 'JOB#j',
      sk: 'STATE',
      version: 12,
      pending: Array(pending).fill(entry),
    });
    expect(itemBytes(job(2)) - itemBytes(job(1))).toBe(51 + 3 + 5 + 1);
  });

  it('measures strings in UTF-8 bytes', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        fc.string({ unit: 'binary', minLength: 1 }),
        (value, name) => {
          expect(utf8Length(value)).toBe(Buffer.byteLength(value, 'utf8'));
          expect(itemBytes({ [name]: value })).toBe(
            Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value, 'utf8'),
          );
        },
      ),
    );
  });
});
