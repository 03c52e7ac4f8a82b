/** Bit layout of a snowflake ID: `0 | time | worker | sequence`. */

export const DEFAULT_EPOCH_MS = 1704067200000; // 2024-01-01T00:00:00Z, the module's default

export interface LayoutOptions {
  timeBits?: number;
  workerBits?: number;
  sequenceBits?: number;
  epochMs?: number;
  /** Milliseconds per time tick (1 for the default layout; 10 for JS-SAFE). */
  timeUnitMs?: number;
}

export interface ParsedId {
  /** Start of the ID's tick, unix ms. */
  timestamp: number;
  worker: number;
  sequence: number;
}

/**
 * `id = ((unix_ms - epoch_ms) / time_unit_ms) << (worker_bits + sequence_bits)
 *       | worker << sequence_bits | sequence`, at most 63 bits in all.
 */
export class Layout {
  readonly timeBits: number;
  readonly workerBits: number;
  readonly sequenceBits: number;
  readonly epochMs: number;
  readonly timeUnitMs: number;

  constructor(o: LayoutOptions = {}) {
    this.timeBits = o.timeBits ?? 41;
    this.workerBits = o.workerBits ?? 10;
    this.sequenceBits = o.sequenceBits ?? 12;
    this.epochMs = o.epochMs ?? DEFAULT_EPOCH_MS;
    this.timeUnitMs = o.timeUnitMs ?? 1;
    const { timeBits: t, workerBits: w, sequenceBits: s } = this;
    for (const v of [t, w, s, this.epochMs, this.timeUnitMs]) {
      if (!Number.isSafeInteger(v)) throw new RangeError('layout fields must be integers');
    }
    if (t + w + s > 63) throw new RangeError(`layout bits must sum to at most 63, got ${t}+${w}+${s}`);
    if (!(t >= 1 && w >= 0 && w <= 20 && s >= 1)) {
      throw new RangeError('layout: timeBits >= 1, workerBits 0..20, sequenceBits >= 1');
    }
    if (this.epochMs < 0) throw new RangeError('epochMs must not be negative');
    if (this.timeUnitMs < 1) throw new RangeError('timeUnitMs must be at least 1');
  }

  static readonly DEFAULT = new Layout();
  static readonly JS_SAFE = new Layout({ timeBits: 38, workerBits: 5, sequenceBits: 10, timeUnitMs: 10 });

  compose(unixMs: number, worker: number, sequence: number): bigint {
    const tick = Math.floor((unixMs - this.epochMs) / this.timeUnitMs);
    if (!(tick >= 0 && tick < 2 ** this.timeBits)) {
      throw new RangeError(`timestamp ${unixMs} does not fit the layout's time bits`);
    }
    if (!(worker >= 0 && worker < 2 ** this.workerBits)) {
      throw new RangeError(`worker ${worker} does not fit ${this.workerBits} worker bits`);
    }
    if (!(sequence >= 0 && sequence < 2 ** this.sequenceBits)) {
      throw new RangeError(`sequence ${sequence} does not fit ${this.sequenceBits} bits`);
    }
    return (BigInt(tick) << BigInt(this.workerBits + this.sequenceBits)) |
      (BigInt(worker) << BigInt(this.sequenceBits)) | BigInt(sequence);
  }

  /** `{ timestamp, worker, sequence }` of an ID (bigint, decimal string or safe number). */
  parse(id: bigint | string | number): ParsedId {
    const v = BigInt(id);
    if (v < 0n) throw new RangeError('IDs are non-negative');
    const s = BigInt(this.sequenceBits);
    const w = BigInt(this.workerBits);
    return {
      timestamp: Number(v >> (s + w)) * this.timeUnitMs + this.epochMs,
      worker: Number((v >> s) & ((1n << w) - 1n)),
      sequence: Number(v & ((1n << s) - 1n)),
    };
  }
}
