/** Values of a `SEQ` key served in-process from `SEQ.NEXTBATCH` segments. */
import { performance } from 'node:perf_hooks';
import { IdgenError } from './errors.js';
import { ClientSource, Conn, KeyLike, array, integer, toArg } from './wire.js';

export interface SegmentSequenceOptions {
  /** Size of the first request (default 1000). */
  segment?: number;
  minSegment?: number;
  maxSegment?: number;
  /** A segment that lasted less than this doubles the next request; one that lasted more than
   * four times this halves it (default 1000 ms). */
  targetMs?: number;
  /** Fraction of a segment used when the next one is fetched (default 0.8). */
  prefetchAt?: number;
  /** How long a caller waits for a segment before it throws (default 10000 ms). */
  waitTimeoutMs?: number;
  onError?: (e: unknown) => void;
}

interface Segment {
  first: bigint;
  step: bigint;
  count: number;
}

/**
 * Values of the sequence at `key`, handed out from memory.
 *
 * `SEQ.NEXTBATCH key count` reserves `count` consecutive values (`[first, last]`); they are served
 * locally. When `prefetchAt` (80%) of the current segment is used, the next one is fetched in
 * the background, so a busy caller rarely waits on the network (a double buffer, as in Meituan
 * Leaf's segment mode). The segment size follows the rate within minSegment..maxSegment.
 *
 * Values of one instance increase in the order handed out (for a sequence without CYCLE) and
 * never repeat; instances sharing a key get disjoint segments. Values of a segment not used up
 * (the process stops, or close()) are skipped for good. The sequence's INCREMENT is honoured.
 */
export class SegmentSequence {
  readonly key: KeyLike;
  segment: number;
  readonly minSegment: number;
  readonly maxSegment: number;
  readonly targetMs: number;
  readonly prefetchAt: number;
  readonly waitTimeoutMs: number;
  fetches = 0;
  /** Times a caller found both buffers empty and waited. */
  waits = 0;

  private readonly conn: Conn;
  private readonly onError: (e: unknown) => void;
  // Current segment: values pos, pos + step, ... below stop. trigger: where the next segment is
  // asked for (at most stop).
  private pos = 0n;
  private stop = 0n;
  private step = 1n;
  private trigger = 0n;
  private started = 0;
  private size = 0;
  private nextSeg: Segment | null = null;
  private fetching: Promise<void> | null = null;
  private error: unknown = null;
  private closed = false;

  constructor(redis: ClientSource, key: KeyLike, o: SegmentSequenceOptions = {}) {
    this.key = key;
    this.segment = o.segment ?? 1000;
    this.minSegment = o.minSegment ?? Math.min(100, this.segment);
    this.maxSegment = o.maxSegment ?? Math.max(2 ** 22, this.segment);
    this.targetMs = o.targetMs ?? 1000;
    this.prefetchAt = o.prefetchAt ?? 0.8;
    this.waitTimeoutMs = o.waitTimeoutMs ?? 10000;
    if (!(this.minSegment >= 1 && this.minSegment <= this.segment && this.segment <= this.maxSegment)) {
      throw new RangeError('need 1 <= minSegment <= segment <= maxSegment');
    }
    if (!(this.prefetchAt > 0 && this.prefetchAt <= 1)) throw new RangeError('prefetchAt must be in (0, 1]');
    this.conn = new Conn(redis);
    this.onError = o.onError ?? (() => {});
  }

  // ---- fetching ----------------------------------------------------------------------------

  /** Size of the next request, from how long the current segment lasts. */
  private plan(): number {
    if (this.size) {
      const left = Number((this.stop - this.pos) / this.step);
      const used = 1 - left / this.size;
      const elapsed = performance.now() - this.started;
      if (used > 0) {
        const lasts = elapsed / used;
        if (lasts < this.targetMs) this.segment = Math.min(this.segment * 2, this.maxSegment);
        else if (lasts > 4 * this.targetMs) this.segment = Math.max(Math.floor(this.segment / 2), this.minSegment);
      }
    }
    return this.segment;
  }

  private async fetchOne(count: number): Promise<Segment> {
    const reply = await this.conn.send(['SEQ.NEXTBATCH', toArg(this.key), String(count)]);
    const a = array(reply, 2, 'SEQ.NEXTBATCH');
    const first = integer(a[0], 'SEQ.NEXTBATCH');
    const last = integer(a[1], 'SEQ.NEXTBATCH');
    if (count === 1) {
      if (first !== last) throw new IdgenError(`SEQ.NEXTBATCH 1 returned ${first}..${last}`);
      return { first, step: 1n, count: 1 };
    }
    const span = last - first;
    const n = BigInt(count - 1);
    if (span <= 0n || span % n !== 0n) {
      throw new IdgenError(`SEQ.NEXTBATCH ${count} returned an unexpected range ${first}..${last}`);
    }
    return { first, step: span / n, count };
  }

  /** Start fetching the next segment unless one is on its way or waiting. */
  private request(): void {
    this.trigger = this.stop;
    if (this.fetching || this.nextSeg || this.closed) return;
    const count = this.plan();
    this.fetching = this.fetchOne(count).then(
      (seg) => {
        this.fetches++;
        this.nextSeg = seg;
      },
      (e) => {
        this.onError(e);
        this.error = e;
      },
    ).finally(() => {
      this.fetching = null;
    });
  }

  private install(): void {
    const { first, step, count } = this.nextSeg!;
    this.nextSeg = null;
    this.pos = first;
    this.step = step;
    this.stop = first + step * BigInt(count);
    this.size = count;
    // Taking the value at index `used - 1` (the one that makes prefetchAt of the segment used)
    // goes through the slow path, which asks for the next segment.
    const used = Math.floor(count * this.prefetchAt);
    this.trigger = first + step * BigInt(Math.min(Math.max(used - 1, 0), count - 1));
    this.started = performance.now();
  }

  // ---- issuing -----------------------------------------------------------------------------

  /** The next value. */
  next(): Promise<bigint> {
    const v = this.pos;
    if (v < this.trigger) {
      this.pos = v + this.step;
      return Promise.resolve(v);
    }
    return this.nextSlow();
  }

  /** The next value if one is in memory now, else undefined (and the next segment is asked
   * for): the synchronous fast path. */
  tryNext(): bigint | undefined {
    const v = this.pos;
    if (v < this.trigger) {
      this.pos = v + this.step;
      return v;
    }
    if (v < this.stop) {
      this.pos = v + this.step;
      if (this.pos >= this.trigger) this.request();
      return v;
    }
    if (this.nextSeg && !this.closed) {
      this.install();
      return this.tryNext();
    }
    this.request();
    return undefined;
  }

  private async nextSlow(): Promise<bigint> {
    const giveUp = performance.now() + this.waitTimeoutMs;
    for (;;) {
      if (this.closed) throw new IdgenError('SegmentSequence closed');
      if (this.pos < this.stop) {
        const v = this.pos;
        this.pos = v + this.step;
        if (this.pos >= this.trigger) this.request();
        return v;
      }
      if (this.nextSeg) {
        this.install();
        continue;
      }
      if (this.error !== null) {
        const e = this.error;
        this.error = null;
        throw e;
      }
      this.request();
      this.waits++;
      const left = giveUp - performance.now();
      if (left <= 0) throw new IdgenError(`no segment of ${String(this.key)} after ${this.waitTimeoutMs} ms`);
      await waitFor(this.fetching, left);
    }
  }

  /** `n` values, in the order handed out. */
  async nextValues(n: number): Promise<bigint[]> {
    const out: bigint[] = [];
    while (out.length < n) {
      const v = this.tryNext();
      out.push(v !== undefined ? v : await this.next());
    }
    return out;
  }

  /** Stops fetching. Values not handed out are skipped (never reissued). */
  async close(): Promise<void> {
    this.closed = true;
    this.pos = this.stop = this.trigger = 0n;
    this.nextSeg = null;
    if (this.fetching) await this.fetching.catch(() => {});
  }
}

function waitFor(p: Promise<void> | null, ms: number): Promise<void> {
  if (!p) return Promise.resolve();
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<void>((r) => { t = setTimeout(r, ms); t.unref(); })]).finally(() => clearTimeout(t));
}
