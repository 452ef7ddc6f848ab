function earlier(time: number, seq: number, otherTime: number, otherSeq: number): boolean {
  return time < otherTime || (time === otherTime && seq < otherSeq);
}

/**
 * A binary min-heap of timed events. Ties break by insertion order, so a simulation is a
 * deterministic function of its seed. Events are plain integers packed with their time in
 * parallel arrays: the simulator pushes millions, and objects would cost an allocation each.
 */
export class EventQueue {
  private times = new Float64Array(1024);
  private seqs = new Float64Array(1024);
  private payloads = new Int32Array(1024);
  private tokens = new Int32Array(1024);
  private count = 0;
  private nextSeq = 0;

  get size(): number {
    return this.count;
  }

  push(time: number, payload: number, token: number): void {
    if (this.count === this.times.length) this.grow();
    let i = this.count++;
    const seq = this.nextSeq++;
    // Sift up.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(time, seq, this.times[parent] as number, this.seqs[parent] as number)) break;
      this.move(parent, i);
      i = parent;
    }
    this.times[i] = time;
    this.seqs[i] = seq;
    this.payloads[i] = payload;
    this.tokens[i] = token;
  }

  /** Time of the earliest event; the queue must not be empty. */
  peekTime(): number {
    return this.times[0] as number;
  }

  peekPayload(): number {
    return this.payloads[0] as number;
  }

  peekToken(): number {
    return this.tokens[0] as number;
  }

  /** Removes the earliest event; read it first with the peek methods. */
  pop(): void {
    const last = --this.count;
    if (last === 0) return;
    const time = this.times[last] as number;
    const seq = this.seqs[last] as number;
    const payload = this.payloads[last] as number;
    const token = this.tokens[last] as number;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= last) break;
      const right = left + 1;
      const child =
        right < last &&
        earlier(
          this.times[right] as number,
          this.seqs[right] as number,
          this.times[left] as number,
          this.seqs[left] as number,
        )
          ? right
          : left;
      if (!earlier(this.times[child] as number, this.seqs[child] as number, time, seq)) break;
      this.move(child, i);
      i = child;
    }
    this.times[i] = time;
    this.seqs[i] = seq;
    this.payloads[i] = payload;
    this.tokens[i] = token;
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from] as number;
    this.seqs[to] = this.seqs[from] as number;
    this.payloads[to] = this.payloads[from] as number;
    this.tokens[to] = this.tokens[from] as number;
  }

  private grow(): void {
    const grow = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const next = make(a.length * 2);
      next.set(a);
      return next;
    };
    this.times = grow(this.times, (n) => new Float64Array(n));
    this.seqs = grow(this.seqs, (n) => new Float64Array(n));
    this.payloads = grow(this.payloads, (n) => new Int32Array(n));
    this.tokens = grow(this.tokens, (n) => new Int32Array(n));
  }
}
