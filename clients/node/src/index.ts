export {
  IdgenError, LeaseLost, RetryAfterError, PoolFull, PoolResuming, NoReplicas, ClockAhead, ProtocolError,
} from './errors.js';
export { Layout, DEFAULT_EPOCH_MS } from './layout.js';
export type { LayoutOptions, ParsedId } from './layout.js';
export { routeWeight, routeIds } from './route.js';
export { LeasedSnowflake, systemClock } from './snowflake.js';
export type { LeasedSnowflakeOptions, Clock } from './snowflake.js';
export { workerList, workerRoute } from './pool.js';
export { clientKind } from './wire.js';
export type { Lease, Grant, KeyLike, ClientSource } from './wire.js';
export { SegmentSequence } from './segment.js';
export type { SegmentSequenceOptions } from './segment.js';
export { TaskRouter } from './router.js';
export type { TaskRouterOptions } from './router.js';
