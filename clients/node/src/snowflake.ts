/** Snowflake IDs generated in-process under a worker-ID lease (`WORKER.*`). */
import { performance } from 'node:perf_hooks';
import { ClockAhead, IdgenError, LeaseLost, NoReplicas, PoolFull, PoolResuming } from './errors.js';
import { Layout, LayoutOptions, ParsedId } from './layout.js';
import {
  Arg, ClientSource, Conn, Grant, KeyLike, Lease, isLeaseLost, leaseLostFrom, parseGrant,
  parseLeases, parseRenew, toArg, toBuffer, translateAcquireError,
} from './wire.js';

/** Clocks (tests may drive their own): `monotonic()` in ms for deadlines, `wallMs()` unix ms. */
export interface Clock {
  monotonic(): number;
  wallMs(): number;
}

export const systemClock: Clock = {
  monotonic: () => performance.now(),
  wallMs: () => Date.now(),
};

export interface LeasedSnowflakeOptions {
  /** Lease TTL in ms (1000..86400000). */
  ttlMs: number;
  /** A holder name: the same holder asking again while its lease lives gets it back. */
  holder?: string | Buffer;
  /** Bit layout (default 41/10/12, epoch 2024-01-01, 1 ms ticks). */
  layout?: Layout | LayoutOptions;
  /** Local safety margin: stop issuing margin ms before the lease could expire
   * (default max(50, ttl/10)). */
  marginMs?: number;
  /** The pool's SIZE, passed on every acquire (default 2^workerBits, at most 2^20). */
  size?: number;
  /** GRACE passed to WORKER.ACQUIRE when given. */
  graceMs?: number;
  /** How far IDs may run ahead of the clock when a millisecond's sequence is used up. */
  maxBorrowMs?: number;
  /** How long nextId() may spin (synchronously) for the clock to reach the next millisecond
   * before it throws ClockAhead. */
  maxWaitMs?: number;
  /** Keep retrying POOLFULL, POOLRESUMING and NOREPLICAS for this long (ms). */
  acquireTimeoutMs?: number;
  /** Renew on a timer (default true). */
  renew?: boolean;
  clock?: Clock;
  /** Called with errors the renewal timer meets (default: none). */
  onError?: (e: unknown) => void;
}

const NEVER = -Infinity;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// Live generators of this process, to catch two generators on one holder's lease.
const live = new Set<LeasedSnowflake>();

/**
 * Snowflake IDs made in this process, with a worker ID leased from a `WORKER` pool.
 *
 * `acquire()` leases a worker ID (`WORKER.ACQUIRE pool ttl [HOLDER h] SIZE n`); a timer that
 * does not keep the process alive renews the lease every ttl/3 and reports the newest timestamp
 * used (`LAST-TS`). IDs are made locally with timestamps strictly above the grant's not-before.
 * The generator throws {@link LeaseLost} instead of issuing once it cannot prove its lease is
 * live: after `LEASELOST` from the server, or once the monotonic clock passes the local
 * deadline, (when the last successful RENEW/ACQUIRE was sent) + ttl - margin.
 *
 * Clock rules, as the module's: if the clock goes back, keep counting on the last timestamp; if
 * a millisecond's sequence numbers are used up, move to the next millisecond (borrow ahead). A
 * timestamp is used only if it is at most maxBorrowMs ahead of the newest time known and no
 * later than what the lease covers (the wall-clock time of the local deadline, or the newest
 * LAST-TS the server accepted). Otherwise nextId() throws {@link ClockAhead} (after spinning up
 * to maxWaitMs when only the clock has to move; at once, asking for a renewal, when the lease
 * has to).
 */
export class LeasedSnowflake {
  readonly pool: KeyLike;
  readonly ttlMs: number;
  readonly holder: string | Buffer | undefined;
  readonly layout: Layout;
  readonly marginMs: number;
  readonly size: number;
  readonly graceMs: number | undefined;
  readonly maxBorrowMs: number;
  readonly maxWaitMs: number;
  /** True when the grant was this holder's live lease (same ID and token). */
  kept = false;
  workerId = -1;
  token = 0n;
  notBeforeMs = 0;
  expiresAtMs = 0;
  renewals = 0;
  renewFailures = 0;

  private readonly conn: Conn;
  private readonly clock: Clock;
  private readonly mono: () => number;
  private readonly wall: () => number;
  private readonly onError: (e: unknown) => void;
  private readonly sys: boolean; // the system clock: read it directly in the fast path
  private readonly seqMax: number;
  private readonly seqBits: bigint;
  private readonly tsShift: bigint;
  private readonly tsLimit: number;
  private readonly epoch: number;

  private lostErr: LeaseLost | null = null;
  private closed = false;
  private floor = 0;
  private ts = 0; // the millisecond in use (unix ms)
  private tsEnd = 0; // first wall ms past ts
  // The fast path reads one clock, the monotonic one: it issues in ts while that clock is below
  // fastUntil = min(deadline, the monotonic time at which the wall clock reaches tsEnd, as
  // measured when ts was entered). Whether a timestamp may be used at all is decided in move();
  // the fast path only keeps using the millisecond already entered, and never past the deadline.
  private tsEndMono = NEVER;
  private fastUntil = NEVER;
  private seq = 0; // next sequence number in ts
  private cur = 0n; // the ID that sequence `seq` gives in ts
  private lastTs: number | null = null;
  private newestWall = 0;
  private reported = 0;
  private deadline = NEVER; // on the monotonic scale (ms)
  private deadlineWall = 0;
  private nextRenew = 0;
  private previous: Lease | null = null;

  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private renewing: Promise<boolean> | null = null;
  private lastSent = NEVER;
  private readonly gap: number;
  private readonly renewOn: boolean;

  private constructor(redis: ClientSource, pool: KeyLike, o: LeasedSnowflakeOptions) {
    this.layout = o.layout instanceof Layout ? o.layout : new Layout(o.layout ?? {});
    if (this.layout.timeUnitMs !== 1) throw new RangeError('the generator supports 1 ms ticks only');
    const ttl = o.ttlMs;
    if (!(Number.isSafeInteger(ttl) && ttl >= 1000 && ttl <= 86_400_000)) {
      throw new RangeError("ttlMs must be in 1000..86400000 (the server's bounds)");
    }
    const margin = o.marginMs ?? Math.max(50, Math.floor(ttl / 10));
    if (!(margin >= 0 && margin < Math.floor((ttl * 2) / 3))) {
      throw new RangeError('marginMs must be in 0..2/3 of ttlMs (renewals come every ttl/3)');
    }
    const cap = 2 ** this.layout.workerBits;
    const size = o.size ?? Math.min(cap, 2 ** 20);
    if (!(size >= 1 && size <= cap)) throw new RangeError(`size ${size} does not fit ${this.layout.workerBits} worker bits`);
    this.pool = pool;
    this.ttlMs = ttl;
    this.holder = o.holder;
    this.marginMs = margin;
    this.size = size;
    this.graceMs = o.graceMs;
    this.maxBorrowMs = o.maxBorrowMs ?? 1000;
    this.maxWaitMs = o.maxWaitMs ?? 5;
    this.conn = new Conn(redis);
    this.clock = o.clock ?? systemClock;
    this.sys = this.clock === systemClock;
    this.mono = this.clock.monotonic.bind(this.clock);
    this.wall = this.clock.wallMs.bind(this.clock);
    this.onError = o.onError ?? (() => {});
    this.seqMax = 2 ** this.layout.sequenceBits - 1;
    this.seqBits = BigInt(this.layout.sequenceBits);
    this.tsShift = BigInt(this.layout.workerBits + this.layout.sequenceBits);
    this.tsLimit = this.layout.epochMs + 2 ** this.layout.timeBits;
    this.epoch = this.layout.epochMs;
    this.gap = Math.max(20, Math.min(Math.floor(ttl / 10), 500));
    this.renewOn = o.renew ?? true;
  }

  /** Leases a worker ID from `pool` and returns a generator on it. */
  static async acquire(redis: ClientSource, pool: KeyLike, options: LeasedSnowflakeOptions): Promise<LeasedSnowflake> {
    const g = new LeasedSnowflake(redis, pool, options);
    await g.start(options.acquireTimeoutMs ?? 0);
    return g;
  }

  // ---- acquire / renew / release -------------------------------------------------------------

  private async acquireGrant(timeoutMs: number): Promise<[Grant, number, number]> {
    const args: Arg[] = ['WORKER.ACQUIRE', toArg(this.pool), String(this.ttlMs)];
    if (this.holder !== undefined) args.push('HOLDER', this.holder);
    args.push('SIZE', String(this.size));
    if (this.graceMs !== undefined) args.push('GRACE', String(this.graceMs));
    const giveUp = this.mono() + timeoutMs;
    for (;;) {
      // A named holder whose lease is still live gets it back as it is (same ID and token):
      // maybe a restarted process whose previous incarnation issued IDs after its last report,
      // up to that lease's expiry. Look at the lease first.
      this.previous = null;
      if (this.holder !== undefined) {
        const me = toBuffer(this.holder);
        for (const lease of parseLeases(await this.conn.send(['WORKER.LIST', toArg(this.pool)]))) {
          if (lease.holder !== null && Buffer.from(lease.holder, 'utf8').equals(me)) this.previous = lease;
        }
      }
      const sentMono = this.mono();
      const sentWall = this.wall();
      let reply: unknown;
      try {
        reply = await this.conn.send(args);
      } catch (e) {
        const err = translateAcquireError(e);
        if (err instanceof PoolFull || err instanceof PoolResuming || err instanceof NoReplicas) {
          const left = giveUp - this.mono();
          if (left > 0) {
            // A release frees an ID at once, unannounced: look again within 1 s.
            const wait = Math.min(err.retryAfterMs ?? 100, 1000);
            await sleep(Math.min(Math.max(wait, 10), left));
            continue;
          }
        }
        throw err;
      }
      return [parseGrant(reply), sentMono, sentWall];
    }
  }

  private async start(acquireTimeoutMs: number): Promise<void> {
    const [grant, sentMono, sentWall] = await this.acquireGrant(acquireTimeoutMs);
    this.workerId = grant.id;
    this.token = grant.token;
    this.notBeforeMs = grant.notBeforeMs;
    this.expiresAtMs = grant.expiresAtMs;
    if (!(grant.id >= 0 && grant.id < 2 ** this.layout.workerBits)) {
      throw new IdgenError(`granted worker ID ${grant.id} does not fit the layout`);
    }
    if (this.holder !== undefined) {
      const me = toBuffer(this.holder);
      const pool = toBuffer(this.pool);
      for (const other of live) {
        if (other.workerId === grant.id && other.token === grant.token && other.holder !== undefined &&
            toBuffer(other.holder).equals(me) && toBuffer(other.pool).equals(pool) && other.lostErr === null) {
          throw new IdgenError(
            `holder ${String(this.holder)} already has a live LeasedSnowflake on worker ID ${grant.id} ` +
              'in this process: holder names must be unique');
        }
      }
    }
    // Kept: the grant is the live lease this holder already had. Its not-before does not cover
    // what an earlier incarnation issued since its last LAST-TS, which can be anything up to
    // that lease's expiry: start above the expiry.
    const prev = this.previous;
    this.kept = prev !== null && prev.id === grant.id && prev.token === grant.token;
    let floor = grant.notBeforeMs;
    if (this.kept && prev!.expiresAtMs > floor) floor = prev!.expiresAtMs;
    this.floor = floor;
    this.ts = floor;
    this.tsEnd = floor + 1;
    this.seq = this.seqMax + 1; // no sequence left: the first ID is strictly above the floor
    this.newestWall = sentWall;
    this.reported = grant.notBeforeMs;
    this.deadline = sentMono + (this.ttlMs - this.marginMs);
    this.fastUntil = NEVER;
    this.deadlineWall = sentWall + this.ttlMs - this.marginMs;
    this.nextRenew = sentMono + Math.floor(this.ttlMs / 3);
    live.add(this);
    if (this.renewOn) this.schedule(this.nextRenew);
  }

  /**
   * Renews the lease now (the timer calls this). Resolves true on success, false when Redis
   * could not be reached or refused for another reason (the deadline is unchanged); rejects
   * with {@link LeaseLost} when the lease is gone.
   */
  renew(): Promise<boolean> {
    if (!this.renewing) {
      this.renewing = this.renewOnce().finally(() => { this.renewing = null; });
    }
    return this.renewing;
  }

  private async renewOnce(): Promise<boolean> {
    if (this.lostErr) throw this.lostErr;
    const last = this.lastTs;
    const args: Arg[] = ['WORKER.RENEW', toArg(this.pool), String(this.workerId), String(this.token), String(this.ttlMs)];
    if (last !== null) args.push('LAST-TS', String(last));
    const sentMono = this.mono();
    const sentWall = this.wall();
    this.lastSent = sentMono;
    let expires: number;
    let nb: number;
    try {
      // A reply that takes longer than a renewal period counts as a failure (another is sent);
      // a late success still only extends the deadline from when it was sent.
      const reply = await withTimeout(this.conn.send(args), Math.floor(this.ttlMs / 3));
      [expires, nb] = parseRenew(reply);
    } catch (e) {
      if (isLeaseLost(e)) {
        const lost = leaseLostFrom(e);
        if (!this.lostErr) {
          this.lostErr = lost;
          this.deadline = NEVER;
          this.fastUntil = NEVER;
        }
        throw lost;
      }
      this.renewFailures++;
      this.onError(e);
      return false;
    }
    if (this.lostErr) throw this.lostErr;
    this.renewals++;
    this.expiresAtMs = expires;
    this.deadline = Math.max(this.deadline, sentMono + (this.ttlMs - this.marginMs));
    this.fastUntil = Math.min(this.deadline, this.tsEndMono);
    this.deadlineWall = Math.max(this.deadlineWall, sentWall + this.ttlMs - this.marginMs);
    if (last !== null && last > this.reported) this.reported = last;
    if (nb > this.floor && (last === null || nb > last)) {
      // The server knows of a timestamp above ours that an earlier holder may have used: move
      // above it.
      this.floor = nb;
      if (this.ts <= nb) {
        this.ts = nb;
        this.tsEnd = nb + 1;
        this.seq = this.seqMax + 1;
      }
    }
    this.nextRenew = sentMono + Math.floor(this.ttlMs / 3);
    return true;
  }

  private schedule(atMono: number): void {
    if (this.closed || this.lostErr) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = atMono;
    this.timer = setTimeout(() => void this.tick(), Math.max(0, atMono - this.mono()));
    this.timer.unref();
  }

  /** Ask for a renewal soon (a waiting nextId() needs the lease extended). */
  private requestRenew(): void {
    if (!this.renewOn || this.closed || this.lostErr || this.renewing) return;
    const at = Math.max(this.lastSent + this.gap, this.mono());
    if (at < this.timerAt) this.schedule(at);
  }

  private async tick(): Promise<void> {
    this.timer = null;
    this.timerAt = Infinity;
    if (this.closed || this.lostErr) return;
    let ok: boolean;
    try {
      ok = await this.renew();
    } catch (e) {
      if (!this.closed) this.onError(e);
      return; // LeaseLost: final
    }
    this.schedule(ok ? this.nextRenew : this.mono() + this.gap);
  }

  /**
   * Stops issuing and renewing and releases the worker ID (reporting LAST-TS). Safe to call
   * twice. Errors from the release are not raised: the lease then simply expires.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const wasLost = this.lostErr !== null;
    if (!wasLost) this.lostErr = new LeaseLost('generator closed', true);
    this.deadline = NEVER;
    this.fastUntil = NEVER;
    const last = this.lastTs;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    live.delete(this);
    if (wasLost) return;
    if (this.renewing) await this.renewing.catch(() => {});
    const args: Arg[] = ['WORKER.RELEASE', toArg(this.pool), String(this.workerId), String(this.token)];
    if (last !== null) args.push('LAST-TS', String(last));
    try {
      await withTimeout(this.conn.send(args), 5000);
    } catch (e) {
      this.onError(e);
    }
  }

  // ---- state -------------------------------------------------------------------------------

  /** The newest timestamp (unix ms) used in an ID, or null. */
  get lastTimestamp(): number | null {
    return this.lastTs;
  }

  /** Why the generator stopped for good (LEASELOST, closed), or null. */
  get lost(): LeaseLost | null {
    return this.lostErr;
  }

  /** True while the generator can prove its lease (it would issue now). */
  isLive(): boolean {
    return this.mono() < this.deadline;
  }

  /** Local deadline on the clock's monotonic scale (ms; -Infinity once lost or closed). */
  get deadlineMs(): number {
    return this.deadline;
  }

  parse(id: bigint | string | number): ParsedId {
    return this.layout.parse(id);
  }

  private raiseLost(): never {
    if (this.lostErr) throw this.lostErr;
    this.requestRenew();
    throw new LeaseLost('local lease deadline passed without a successful WORKER.RENEW; not issuing', false);
  }

  // ---- issuing -----------------------------------------------------------------------------

  /** Newest timestamp this generator may use now. */
  private ceiling(): number {
    const known = this.newestWall > this.floor ? this.newestWall : this.floor + 1;
    const lease = this.deadlineWall > this.reported ? this.deadlineWall : this.reported;
    const byClock = known + this.maxBorrowMs;
    return byClock < lease ? byClock : lease;
  }

  /** Move to the next usable millisecond (`now`: the wall clock read at monotonic `mono`).
   * 0: moved; 1: wait for the clock; 2: for the lease. */
  private move(now: number, mono: number): number {
    if (now > this.newestWall) this.newestWall = now;
    const ts = now > this.ts ? now : this.ts + 1;
    if (ts > this.ceiling()) {
      if (ts > this.deadlineWall && ts > this.reported) {
        this.requestRenew();
        return 2;
      }
      return 1;
    }
    if (ts >= this.tsLimit) throw new IdgenError('time bits exhausted: the layout cannot hold the current timestamp');
    if (ts < this.epoch) throw new IdgenError("clock before the layout's epoch");
    this.ts = ts;
    this.tsEnd = ts + 1;
    this.tsEndMono = mono + (ts + 1 - now);
    this.fastUntil = Math.min(this.deadline, this.tsEndMono);
    this.seq = 0;
    this.cur = (BigInt(ts - this.epoch) << this.tsShift) | (BigInt(this.workerId) << this.seqBits);
    this.lastTs = ts;
    return 0;
  }

  /** One ID. Throws {@link LeaseLost} or {@link ClockAhead} instead of risking a repeat. */
  nextId(): bigint {
    // Fast path: the lease is provably live, the clock is still in (or behind) the millisecond
    // in use, and it has sequence numbers left.
    if ((this.sys ? performance.now() : this.mono()) < this.fastUntil && this.seq <= this.seqMax) {
      this.seq++;
      const v = this.cur;
      this.cur = v + 1n;
      return v;
    }
    return this.nextIdSlow();
  }

  /** One ID as decimal text. */
  nextIdString(): string {
    return this.nextId().toString();
  }

  private nextIdSlow(): bigint {
    let started = -1;
    for (;;) {
      const mono = this.mono();
      if (mono >= this.deadline) this.raiseLost();
      const now = this.wall();
      if (now <= this.ts && this.seq <= this.seqMax) {
        this.seq++;
        const v = this.cur;
        this.cur = v + 1n;
        return v;
      }
      const r = this.move(now, mono);
      if (r === 0) {
        this.seq = 1;
        const v = this.cur;
        this.cur = v + 1n;
        return v;
      }
      started = this.wait(started, r);
    }
  }

  /** Spin for the clock (only when it is the clock that has to move), else throw ClockAhead. */
  private wait(started: number, why: number): number {
    const now = this.mono();
    if (started < 0) started = now;
    if (why === 2 || now - started >= this.maxWaitMs) {
      throw new ClockAhead(
        why === 2
          ? 'the next timestamp is past what the lease covers; a renewal was requested: retry shortly'
          : `cannot issue within maxBorrowMs (${this.maxBorrowMs}) of the clock; waited ${this.maxWaitMs} ms`,
        why === 2 ? this.gap : 1);
    }
    const w = this.wall();
    while (this.wall() === w && this.mono() - started < this.maxWaitMs) { /* spin */ }
    return started;
  }

  /** `n` IDs in increasing order. */
  nextIds(n: number): bigint[] {
    const out: bigint[] = [];
    for (let i = 0; i < n; i++) out.push(this.nextId());
    return out;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`no reply within ${ms} ms`)), ms);
      t.unref();
    }),
  ]).finally(() => clearTimeout(t));
}

