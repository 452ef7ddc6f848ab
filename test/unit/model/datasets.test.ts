import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  decodeShard,
  encodeShard,
  generateSynthetic,
  loadBuiltinDataset,
  type Split,
  SYNTHETIC_PRESETS,
  sampleBatch,
  shardSplit,
} from '../../../model/datasets';
import { DatasetError, ShardFormatError } from '../../../model/errors';
import { createRng } from '../../../model/random';

const digest = (split: Split) =>
  createHash('sha256')
    .update(new Uint8Array(split.x.buffer, split.x.byteOffset, split.x.byteLength))
    .update(split.y)
    .digest('hex')
    .slice(0, 16);

const bytesOf = (values: Float32Array) => Buffer.from(values.buffer, values.byteOffset, values.byteLength);
/** Bit-for-bit equality, so -0 vs 0 and NaN payloads count. */
const sameBits = (a: Float32Array, b: Float32Array) => bytesOf(a).equals(bytesOf(b));

describe('mnist', () => {
  test('loads fast, once per process', () => {
    const started = performance.now();
    const mnist = loadBuiltinDataset('mnist');
    expect(performance.now() - started).toBeLessThan(1500);
    expect(loadBuiltinDataset('mnist')).toBe(mnist);
  });

  test('has the documented fixed split: 8000/2000, stratified, pinned bytes', () => {
    const mnist = loadBuiltinDataset('mnist');
    expect([mnist.features, mnist.classes, mnist.train.n, mnist.test.n]).toEqual([784, 10, 8000, 2000]);
    expect([mnist.train.x.length, mnist.test.x.length]).toEqual([8000 * 784, 2000 * 784]);
    const count = (split: Split) => {
      const counts = new Array(10).fill(0);
      for (const label of split.y) counts[label]++;
      return counts;
    };
    // The package's rows per digit, and 20% of each (largest remainder) held out.
    const perDigit = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
    const testCounts = count(mnist.test);
    expect(testCounts).toEqual([200, 225, 198, 206, 196, 173, 203, 214, 189, 196]);
    expect(count(mnist.train).map((n, digit) => n + testCounts[digit])).toEqual(perDigit);
    // Any change to the split (seed, order, parsing) changes these and every downstream result.
    expect(digest(mnist.train)).toBe('9acb8556108ce823');
    expect(digest(mnist.test)).toBe('0997de3cb03a9f95');
    let outOfRange = 0;
    for (const pixel of mnist.train.x) if (!(pixel >= 0 && pixel <= 1)) outOfRange++;
    expect(outOfRange).toBe(0);
    expect(mnist.train.x.includes(1)).toBe(true);
  });
});

describe('synthetic', () => {
  test('is pinned and regenerates identically', () => {
    const synthetic = loadBuiltinDataset('synthetic');
    expect([synthetic.features, synthetic.classes, synthetic.train.n, synthetic.test.n]).toEqual([
      20, 4, 4000, 1000,
    ]);
    expect(digest(synthetic.train)).toBe('57fb48bcf46c9cde');
    const again = generateSynthetic(SYNTHETIC_PRESETS.synthetic);
    expect(sameBits(again.test.x, synthetic.test.x)).toBe(true);
    const otherSeed = generateSynthetic({ ...SYNTHETIC_PRESETS.synthetic, seed: 'other' });
    expect(digest(otherSeed.train)).not.toBe(digest(synthetic.train));
  });

  test('the binary preset has two classes, both well represented', () => {
    const binary = loadBuiltinDataset('synthetic-binary');
    expect(binary.classes).toBe(2);
    const ones = Array.from(binary.train.y).reduce((total, label) => total + label, 0);
    expect(ones / binary.train.n).toBeGreaterThan(0.3);
    expect(ones / binary.train.n).toBeLessThan(0.7);
  });

  test('unknown names are rejected', () => {
    expect(() => loadBuiltinDataset('imagenet' as 'mnist')).toThrow(DatasetError);
  });
});

describe('shards', () => {
  test('MNIST shards use the lossless uint8 palette and round-trip bit for bit', () => {
    const shard = shardSplit(loadBuiltinDataset('mnist').train, 1000)[3] as Split;
    const bytes = encodeShard(shard);
    expect(bytes.byteLength).toBe(20 + 256 * 4 + 1000 + 1000 * 784);
    const decoded = decodeShard(bytes);
    expect(decoded.n).toBe(1000);
    expect(sameBits(decoded.x, shard.x)).toBe(true);
    expect(Array.from(decoded.y)).toEqual(Array.from(shard.y));
  });

  test('any values round-trip bit for bit (float32 or palette, -0, NaN, infinities)', () => {
    const special = [0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-45, 3.4e38];
    const value = fc.oneof(fc.constantFrom(...special), fc.float(), fc.integer({ min: 0, max: 3 }));
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        fc.infiniteStream(value),
        fc.infiniteStream(fc.integer({ min: 0, max: 255 })),
        (features, n, fewValues, values, labels) => {
          const pool = Float32Array.from(
            { length: fewValues ? 5 : n * features },
            () => values.next().value as number,
          );
          const split: Split = {
            x: Float32Array.from({ length: n * features }, (_, i) => pool[i % pool.length] as number),
            y: Uint8Array.from({ length: n }, () => labels.next().value as number),
            n,
          };
          const decoded = decodeShard(encodeShard(split));
          expect(decoded.n).toBe(n);
          expect(sameBits(decoded.x, split.x)).toBe(true);
          expect(Array.from(decoded.y)).toEqual(Array.from(split.y));
        },
      ),
    );
  });

  test('corrupt shards raise ShardFormatError', () => {
    const split: Split = { x: Float32Array.of(0, 1, 1, 0), y: Uint8Array.of(1, 0), n: 2 };
    const bytes = encodeShard(split);
    const corrupt = (offset: number, value: number) => {
      const copy = bytes.slice();
      copy[offset] = value;
      return copy;
    };
    expect(() => decodeShard(bytes.subarray(0, 10))).toThrow(ShardFormatError);
    expect(() => decodeShard(corrupt(0, 0))).toThrow(/bad magic/);
    expect(() => decodeShard(corrupt(4, 9))).toThrow(/version 9/);
    expect(() => decodeShard(corrupt(6, 7))).toThrow(/encoding 7/);
    expect(() => decodeShard(bytes.subarray(0, bytes.length - 1))).toThrow(/bytes/);
    expect(() => decodeShard(corrupt(bytes.length - 1, 200))).toThrow(/outside the palette/);
  });

  test('shardSplit cuts contiguous views that cover the split', () => {
    const { train } = loadBuiltinDataset('synthetic');
    const shards = shardSplit(train, 1500);
    expect(shards.map((shard) => shard.n)).toEqual([1500, 1500, 1000]);
    expect(shards[1]?.x.buffer).toBe(train.x.buffer);
    expect(shards[2]?.y[999]).toBe(train.y[3999]);
    expect(shards[2]?.x.subarray(-20)).toEqual(train.x.subarray(-20));
    expect(() => shardSplit(train, 0)).toThrow(DatasetError);
  });
});

describe('sampleBatch', () => {
  const split: Split = {
    x: Float32Array.from({ length: 5 * 3 }, (_, i) => i),
    y: Uint8Array.of(0, 1, 2, 3, 4),
    n: 5,
  };

  test('draws whole rows with their labels, with replacement, reproducibly', () => {
    const batch = sampleBatch(split, 40, createRng(3));
    expect(batch.n).toBe(40);
    for (let i = 0; i < batch.n; i++) {
      const label = batch.y[i] as number;
      expect(Array.from(batch.x.subarray(i * 3, i * 3 + 3))).toEqual([
        label * 3,
        label * 3 + 1,
        label * 3 + 2,
      ]);
    }
    expect(new Set(batch.y).size).toBe(5);
    expect(sampleBatch(split, 40, createRng(3))).toEqual(batch);
    expect(sampleBatch(split, 40, createRng(4)).y).not.toEqual(batch.y);
  });

  test('writes into caller buffers when given', () => {
    const buffers = { x: new Float32Array(8 * 3), y: new Uint8Array(8) };
    const batch = sampleBatch(split, 6, createRng(1), buffers);
    expect(batch.x.buffer).toBe(buffers.x.buffer);
    expect(batch.x.length).toBe(18);
    expect(() => sampleBatch(split, 9, createRng(1), buffers)).toThrow(DatasetError);
    expect(() => sampleBatch(split, 0, createRng(1))).toThrow(DatasetError);
  });
});
