/** Task routing over the live leases of a `WORKER` pool, computed locally. */
import { performance } from 'node:perf_hooks';
import { routePrefix, weightFrom } from './route.js';
import {
  ClientSource, Conn, KeyLike, Lease, RedisLike, array, clientKind, parseLeases, small, toArg, toBuffer,
} from './wire.js';

export interface TaskRouterOptions {
  /** Database of the pool key (read from the client's options by default). */
  db?: number;
  /** Follow keyspace events of the pool key (default true). The server must publish them:
   * `notify-keyspace-events` with `K` and `d` (module events). */
  events?: boolean;
  /** The connection to SUBSCRIBE on: a client, or a function returning one (sync or async).
   * Default: `duplicate()` of the client. A client given here is closed by close(). */
  subscriber?: RedisLike | (() => RedisLike | Promise<RedisLike>);
  /** Refresh at least this often whatever happens (default 1000 ms). */
  refreshMs?: number;
  /** Coalesce bursts of events: at most one refresh per this many ms (default 20). */
  minRefreshMs?: number;
  onError?: (e: unknown) => void;
}

interface Cached {
  lease: Lease;
}

/**
 * The owner(s) of a task key among the live leases of `pool`, as `WORKER.ROUTE` says, computed
 * in this process from a cached `WORKER.LIST`.
 *
 * The cache is refreshed on keyspace events of the pool key (`idgen.worker.acquire`, `.renew`,
 * `.release`, `.expire`), at most once per minRefreshMs; every refreshMs whatever happens; and
 * when the earliest known lease expires (judged by the server's clock, from the offset measured
 * with `TIME` at each refresh), since an expiry is only announced once something touches the
 * pool. Leases whose expiry has passed by that estimate are left out, as the server leaves them
 * out. `route()` never touches the network.
 */
export class TaskRouter {
  readonly pool: KeyLike;
  readonly channel: string;
  readonly db: number;
  readonly refreshMs: number;
  readonly minRefreshMs: number;
  refreshes = 0;
  eventsSeen = 0;

  private readonly conn: Conn;
  private readonly onError: (e: unknown) => void;
  private leasesCache: Cached[] = [];
  private offsetMs = 0;
  private lastRefresh = -Infinity;
  private dirty = false;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<Lease[]> | null = null;
  private sub: RedisLike = null;
  private readonly events: boolean;
  private readonly subscriberOpt: TaskRouterOptions['subscriber'];

  private constructor(redis: ClientSource, pool: KeyLike, o: TaskRouterOptions) {
    this.pool = pool;
    this.conn = new Conn(redis);
    const c = this.conn.client();
    this.db = o.db ?? Number(c?.options?.db ?? c?.options?.database ?? 0);
    this.channel = `__keyspace@${this.db}__:${toBuffer(pool).toString('utf8')}`;
    this.refreshMs = o.refreshMs ?? 1000;
    this.minRefreshMs = o.minRefreshMs ?? 20;
    this.events = o.events ?? true;
    this.subscriberOpt = o.subscriber;
    this.onError = o.onError ?? (() => {});
  }

  /** Reads the pool, subscribes to its keyspace events and starts the refresh timer. */
  static async create(redis: ClientSource, pool: KeyLike, options: TaskRouterOptions = {}): Promise<TaskRouter> {
    const r = new TaskRouter(redis, pool, options);
    await r.refresh();
    if (r.events) {
      try {
        await r.subscribe();
      } catch (e) {
        await r.close();
        throw e;
      }
      // Anything that changed between the first LIST and the subscription.
      await r.refresh();
    }
    r.schedule();
    return r;
  }

  private async subscribe(): Promise<void> {
    let sub: RedisLike;
    const opt = this.subscriberOpt;
    if (opt === undefined) {
      sub = this.conn.client().duplicate();
    } else if (typeof opt === 'function') {
      sub = await (opt as () => RedisLike)();
    } else {
      sub = opt;
    }
    this.sub = sub;
    const onMessage = () => {
      this.eventsSeen++;
      this.markDirty();
    };
    if (clientKind(sub) === 'ioredis') {
      if (sub.status === 'wait') await sub.connect();
      sub.on('message', (channel: string) => { if (channel === this.channel) onMessage(); });
      // A reconnect may have missed events.
      sub.on('ready', () => this.markDirty());
      await sub.subscribe(this.channel);
    } else {
      if (typeof sub.on === 'function') {
        sub.on('error', (e: unknown) => this.onError(e));
        sub.on('ready', () => this.markDirty());
      }
      if (!sub.isOpen) await sub.connect();
      await sub.subscribe(this.channel, onMessage);
    }
  }

  // ---- cache -------------------------------------------------------------------------------

  /** Reads `WORKER.LIST` (and `TIME`) now; resolves with the live leases. */
  refresh(): Promise<Lease[]> {
    if (!this.refreshing) {
      this.refreshing = this.refreshOnce().finally(() => { this.refreshing = null; });
    }
    return this.refreshing;
  }

  private async refreshOnce(): Promise<Lease[]> {
    const before = Date.now();
    const [listed, time] = await Promise.all([
      this.conn.send(['WORKER.LIST', toArg(this.pool)]),
      this.conn.send(['TIME']),
    ]);
    const after = Date.now();
    const leases = parseLeases(listed);
    const t = array(time, 2, 'TIME');
    const serverMs = small(t[0], 'TIME') * 1000 + Math.floor(small(t[1], 'TIME') / 1000);
    this.offsetMs = serverMs - Math.floor((before + after) / 2);
    this.leasesCache = leases.map((lease) => ({ lease }));
    this.lastRefresh = performance.now();
    this.refreshes++;
    return leases;
  }

  private liveNow(): Lease[] {
    const now = Date.now() + this.offsetMs;
    const out: Lease[] = [];
    for (const c of this.leasesCache) if (c.lease.expiresAtMs > now) out.push(c.lease);
    return out;
  }

  /** The live leases as last read (expired ones left out). */
  get leases(): Lease[] {
    return this.liveNow();
  }

  /** Up to `count` live leases for `taskKey`, best first (as `WORKER.ROUTE ... COUNT n`). */
  ranked(taskKey: KeyLike, count = 1): Lease[] {
    if (count <= 0) return [];
    const p = routePrefix(taskKey);
    const scored = this.liveNow().map((lease) => [weightFrom(p, lease.id), lease] as const);
    // (weight, id) is unique per lease: ties on weight go to the higher ID.
    scored.sort((a, b) => (a[0] > b[0] ? -1 : a[0] < b[0] ? 1 : b[1].id - a[1].id));
    return scored.slice(0, count).map((x) => x[1]);
  }

  /** The lease responsible for `taskKey`, or null when no lease is live. */
  owner(taskKey: KeyLike): Lease | null {
    const p = routePrefix(taskKey);
    let best: Lease | null = null;
    let bestW = -1n;
    for (const lease of this.liveNow()) {
      const w = weightFrom(p, lease.id);
      if (w > bestW || (w === bestW && best !== null && lease.id > best.id)) {
        bestW = w;
        best = lease;
      }
    }
    return best;
  }

  /** The worker ID `WORKER.ROUTE pool taskKey` would give now, or null (no live lease). */
  route(taskKey: KeyLike): number | null {
    const o = this.owner(taskKey);
    return o === null ? null : o.id;
  }

  // ---- background --------------------------------------------------------------------------

  private markDirty(): void {
    if (this.closed) return;
    this.dirty = true;
    this.schedule();
  }

  /** Arms the timer for the next refresh that is due. */
  private schedule(): void {
    if (this.closed) return;
    const since = performance.now() - this.lastRefresh;
    let due = this.refreshMs - since;
    const now = Date.now() + this.offsetMs;
    for (const c of this.leasesCache) {
      const e = c.lease.expiresAtMs;
      if (now < e && e - now + 1 < due) due = e - now + 1;
    }
    if (this.dirty) due = Math.min(due, this.minRefreshMs - since);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), Math.max(0, due));
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = null;
    if (this.closed) return;
    this.dirty = false;
    try {
      await this.refresh();
    } catch (e) {
      this.onError(e);
      if (this.closed) return;
      this.timer = setTimeout(() => void this.tick(), Math.min(this.refreshMs, 200));
      this.timer.unref();
      return;
    }
    this.schedule();
  }

  /** Stops the timer and closes the subscription connection. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const sub = this.sub;
    this.sub = null;
    if (sub) {
      try {
        if (clientKind(sub) === 'ioredis') sub.disconnect();
        else if (typeof sub.destroy === 'function') sub.destroy();
        else await sub.disconnect();
      } catch { /* already closed */ }
    }
    if (this.refreshing) await this.refreshing.catch(() => {});
  }
}
