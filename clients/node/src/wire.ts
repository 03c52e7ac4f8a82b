/**
 * Talking to ioredis and node-redis, and reading replies exactly.
 *
 * Both clients turn RESP integer replies into JavaScript numbers by default, which round above
 * 2^53. node-redis 5+ is asked per command for integers as text (`typeMapping` with
 * `RESP_TYPES.NUMBER` = 58 mapped to `String`); ioredis reads them as text when the client was
 * made with `stringNumbers: true`. Whatever arrives, an integer is accepted only if it is exact:
 * a decimal string, a bigint, or a number that is a safe integer (every double above
 * `Number.MAX_SAFE_INTEGER` may be a rounded value, so it raises ProtocolError instead).
 */
import { LeaseLost, NoReplicas, PoolFull, PoolResuming, ProtocolError, retryAfterMs } from './errors.js';

export type KeyLike = string | Buffer | number | bigint;
export type Arg = string | Buffer;

/** A connected ioredis or node-redis client (any object with `.call` or `.sendCommand`). */
export type RedisLike = any; // eslint-disable-line @typescript-eslint/no-explicit-any
/** A client, or a function returning the client to use now (to follow a failover). */
export type ClientSource = RedisLike | (() => RedisLike);

/** RESP_TYPES.NUMBER of node-redis 5+ (the ':' byte): integers as decimal strings. */
const NUMBERS_AS_TEXT = { typeMapping: { 58: String } };

export type ClientKind = 'ioredis' | 'node-redis';

export function clientKind(client: RedisLike): ClientKind {
  // ioredis has .call (and its own .sendCommand taking a Command object); node-redis has only
  // .sendCommand([...]).
  if (client && typeof client.call === 'function') return 'ioredis';
  if (client && typeof client.sendCommand === 'function') return 'node-redis';
  throw new TypeError('expected an ioredis client (.call) or a node-redis client (.sendCommand)');
}

export function toArg(v: KeyLike): Arg {
  if (typeof v === 'string' || Buffer.isBuffer(v)) return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  throw new TypeError(`expected a string, Buffer, number or bigint, got ${typeof v}`);
}

export function toBuffer(v: KeyLike): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8');
}

/** Resolves `source` to a client each time (a failover may change it). */
export class Conn {
  private readonly get: () => RedisLike;
  constructor(source: ClientSource) {
    // Clients are objects; a function is a getter (every function has .call, so test this first).
    if (typeof source === 'function') {
      this.get = source as () => RedisLike;
    } else {
      clientKind(source);
      this.get = () => source;
    }
  }

  client(): RedisLike {
    return this.get();
  }

  /** Sends a command; integer replies arrive as text where the client can be asked for it. */
  send(args: Arg[]): Promise<unknown> {
    const c = this.get();
    if (clientKind(c) === 'ioredis') {
      return c.call(args[0], ...args.slice(1));
    }
    return c.sendCommand(args, NUMBERS_AS_TEXT);
  }
}

/** An exact integer from a reply element. */
export function integer(v: unknown, what: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return BigInt(v);
    throw new ProtocolError(
      `${what}: integer reply ${v} arrived as an inexact double; ` +
        'use node-redis 5+ or an ioredis client made with { stringNumbers: true }');
  }
  if (Buffer.isBuffer(v)) v = v.toString('latin1');
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  throw new ProtocolError(`${what}: expected an integer, got ${String(v)}`);
}

/** An integer that must fit a double exactly (times in ms, worker IDs). */
export function small(v: unknown, what: string): number {
  const b = integer(v, what);
  const n = Number(b);
  if (!Number.isSafeInteger(n)) throw new ProtocolError(`${what}: ${b} is out of range`);
  return n;
}

export function array(v: unknown, n: number | null, what: string): unknown[] {
  if (!Array.isArray(v)) throw new ProtocolError(`${what}: expected an array, got ${String(v)}`);
  if (n !== null && v.length !== n) {
    throw new ProtocolError(`${what}: expected ${n} elements, got ${v.length}`);
  }
  return v;
}

/** A `WORKER.ACQUIRE` reply. */
export interface Grant {
  id: number;
  token: bigint;
  expiresAtMs: number;
  notBeforeMs: number;
}

/** One live lease as `WORKER.LIST` and `WORKER.ROUTE` report it. */
export interface Lease {
  id: number;
  holder: string | null;
  token: bigint;
  expiresAtMs: number;
  notBeforeMs: number;
}

export function parseGrant(reply: unknown): Grant {
  const a = array(reply, 4, 'WORKER.ACQUIRE');
  return {
    id: small(a[0], 'WORKER.ACQUIRE id'),
    token: integer(a[1], 'WORKER.ACQUIRE token'),
    expiresAtMs: small(a[2], 'WORKER.ACQUIRE expiry'),
    notBeforeMs: small(a[3], 'WORKER.ACQUIRE not-before'),
  };
}

export function parseRenew(reply: unknown): [number, number] {
  const a = array(reply, 2, 'WORKER.RENEW');
  return [small(a[0], 'WORKER.RENEW expiry'), small(a[1], 'WORKER.RENEW not-before')];
}

export function parseLease(entry: unknown): Lease {
  const a = array(entry, 5, 'lease');
  let holder = a[1] as unknown;
  if (Buffer.isBuffer(holder)) holder = holder.toString('utf8');
  if (holder !== null && holder !== undefined && typeof holder !== 'string') {
    throw new ProtocolError(`lease holder: expected a string or nil, got ${String(holder)}`);
  }
  return {
    id: small(a[0], 'lease id'),
    holder: (holder as string | null | undefined) ?? null,
    token: integer(a[2], 'lease token'),
    expiresAtMs: small(a[3], 'lease expiry'),
    notBeforeMs: small(a[4], 'lease not-before'),
  };
}

export function parseLeases(reply: unknown): Lease[] {
  return array(reply, null, 'lease list').map(parseLease);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function isLeaseLost(e: unknown): boolean {
  return message(e).trimStart().startsWith('LEASELOST');
}

export function translateAcquireError(e: unknown): unknown {
  const text = message(e);
  if (text.startsWith('POOLFULL')) return new PoolFull(text, retryAfterMs(text));
  if (text.startsWith('POOLRESUMING')) return new PoolResuming(text, retryAfterMs(text));
  // Its text names the lag setting in ms, not a time to wait.
  if (text.startsWith('NOREPLICAS')) return new NoReplicas(text, null);
  return e;
}

export function leaseLostFrom(e: unknown): LeaseLost {
  return new LeaseLost(`lease lost: ${message(e)}`, true);
}

export function errorText(e: unknown): string {
  return message(e);
}
