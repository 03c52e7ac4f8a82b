/**
 * The fixed rendezvous hash of `WORKER.ROUTE`, specified in docs/worker-pools.md ("The route
 * hash"): weight = splitmix64_finalize(FNV-1a-64(task_key || 0x00 || decimal(worker_id))).
 * Known answers: fixtures/vectors.json.
 */
import { KeyLike, toBuffer } from './wire.js';

const M64 = (1n << 64n) - 1n;

/** FNV-1a 64 over `data` from state (hi, lo), in 32-bit halves (no BigInt per byte). */
function fnv(hi: number, lo: number, data: Uint8Array | number[]): [number, number] {
  for (let i = 0; i < data.length; i++) {
    lo = (lo ^ data[i]) >>> 0;
    // h * 0x100000001b3 = h * 0x1b3 + (h << 40)
    const l = lo * 0x1b3;
    const h = hi * 0x1b3 + Math.floor(l / 4294967296) + ((lo << 8) >>> 0);
    hi = h >>> 0;
    lo = l >>> 0;
  }
  return [hi, lo];
}

function finalize(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}

const DIGITS: number[][] = [];
function digits(id: number): number[] {
  if (id < 4096) {
    let d = DIGITS[id];
    if (!d) d = DIGITS[id] = Array.from(Buffer.from(String(id), 'ascii'));
    return d;
  }
  return Array.from(Buffer.from(String(id), 'ascii'));
}

/** The FNV-1a state after `task_key || 0x00`, shared by every worker's weight. */
export function routePrefix(taskKey: KeyLike): [number, number] {
  const [hi, lo] = fnv(0xcbf29ce4, 0x84222325, toBuffer(taskKey));
  return fnv(hi, lo, [0]);
}

export function weightFrom(prefix: [number, number], workerId: number): bigint {
  const [hi, lo] = fnv(prefix[0], prefix[1], digits(workerId));
  return finalize((BigInt(hi) << 32n) | BigInt(lo));
}

/** The rendezvous weight of `workerId` for `taskKey` (strings are hashed as UTF-8). */
export function routeWeight(taskKey: KeyLike, workerId: number): bigint {
  if (!Number.isSafeInteger(workerId) || workerId < 0) throw new RangeError('worker IDs are non-negative integers');
  return weightFrom(routePrefix(taskKey), workerId);
}

/** The first `count` of `workerIds` ranked for `taskKey`, best first (ties: higher ID first). */
export function routeIds(taskKey: KeyLike, workerIds: Iterable<number>, count = 1): number[] {
  if (count <= 0) return [];
  const p = routePrefix(taskKey);
  const ranked = [...new Set(workerIds)].map((w) => [weightFrom(p, w), w] as const);
  ranked.sort((a, b) => (a[0] > b[0] ? -1 : a[0] < b[0] ? 1 : b[1] - a[1]));
  return ranked.slice(0, count).map((x) => x[1]);
}
