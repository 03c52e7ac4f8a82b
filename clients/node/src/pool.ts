/** Plain calls of the pool commands, replies read exactly. */
import { ClientSource, Conn, KeyLike, Lease, parseLeases, toArg } from './wire.js';

/** `WORKER.LIST pool`: the live leases, by ID (empty for a missing key). */
export async function workerList(redis: ClientSource, pool: KeyLike): Promise<Lease[]> {
  return parseLeases(await new Conn(redis).send(['WORKER.LIST', toArg(pool)]));
}

/** `WORKER.ROUTE pool task-key COUNT n`: up to `count` live leases, best first. */
export async function workerRoute(redis: ClientSource, pool: KeyLike, taskKey: KeyLike, count = 1): Promise<Lease[]> {
  return parseLeases(await new Conn(redis).send(['WORKER.ROUTE', toArg(pool), toArg(taskKey), 'COUNT', String(count)]));
}
