/**
 * Seeded randomness. Every random choice in kasync (initial weights, mini-batches, dataset
 * splits, straggler delays) comes from here so a job is reproducible from its seed.
 */

export interface Rng {
  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number;
  /** Uniform integer in [0, n), for 1 <= n <= 2^32. */
  int(n: number): number;
  /** Standard normal. */
  normal(): number;
  /** Fisher-Yates in place; returns `items`. */
  shuffle<T>(items: T[]): T[];
}

/** xoshiro128** (Blackman and Vigna): small state, fast with Math.imul, passes BigCrush. */
export function createRng(seed: number): Rng {
  return new Xoshiro128(seed);
}

const TWO_POW_32 = 4294967296;

class Xoshiro128 implements Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | undefined;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    // SplitMix32 expands the seed so nearby seeds give unrelated streams and the state is never all zero.
    let state = hashSeed(seed);
    const nextSeedWord = () => {
      state = (state + 0x9e3779b9) | 0;
      return mix32(state);
    };
    this.s0 = nextSeedWord();
    this.s1 = nextSeedWord();
    this.s2 = nextSeedWord();
    this.s3 = nextSeedWord();
  }

  private nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32)
      throw new RangeError(`int(n) needs 1 <= n <= 2^32, got ${n}`);
    // Multiply-shift: bias at most n / 2^32, far below anything sampling mini-batches can notice.
    return Math.floor((this.nextUint32() / TWO_POW_32) * n);
  }

  normal(): number {
    const spare = this.spareNormal;
    if (spare !== undefined) {
      this.spareNormal = undefined;
      return spare;
    }
    // Marsaglia's polar method yields two independent normals per accepted pair.
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const scale = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * scale;
    return u * scale;
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const held = items[i] as T;
      items[i] = items[j] as T;
      items[j] = held;
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The MurmurHash3 finalizer: a bijection on 32 bits with full avalanche. */
function mix32(h: number): number {
  let x = h;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * A 32-bit seed derived from its parts, e.g. `hashSeed(jobSeed, learnerId, epoch)`.
 * Order matters, strings and numbers never collide by construction (`1` vs `'1'`), and
 * integers are hashed exactly up to 2^53.
 */
export function hashSeed(...parts: readonly (string | number)[]): number {
  let h = 0x6a09e667;
  const feed = (word: number) => {
    h = Math.imul(rotl(h ^ mix32(word), 13), 5) + 0xe6546b64;
  };
  for (const part of parts) {
    if (typeof part === 'number' && Number.isSafeInteger(part)) {
      feed(1);
      feed(part >>> 0);
      feed(Math.floor(part / TWO_POW_32) >>> 0);
    } else {
      const text = String(part);
      feed(typeof part === 'number' ? 2 : 3);
      feed(text.length);
      for (let i = 0; i < text.length; i++) feed(text.charCodeAt(i));
    }
  }
  return mix32(h ^ parts.length);
}
