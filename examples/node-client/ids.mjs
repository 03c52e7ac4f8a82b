// The Node.js client (clients/node, npm package idgen-client) in one script: in-process snowflake
// IDs under a worker-ID lease, sequence values from segments, and task routing, with ioredis.
//
// Run from the repository root (after `cd clients/node && npm ci && npm run build`):
//   examples/with-server.sh node examples/node-client/ids.mjs
// In your own project: `npm install idgen-client ioredis` and import from 'idgen-client'.
import { createRequire } from 'node:module';

// Resolve the package and ioredis from clients/node (an installed app imports 'idgen-client').
const require = createRequire(new URL('../../clients/node/package.json', import.meta.url));
const { LeasedSnowflake, SegmentSequence, TaskRouter, LeaseLost } = require('idgen-client');
const Redis = require('ioredis');

const redis = new Redis({ port: Number(process.env.IDGEN_PORT ?? 6379), stringNumbers: true });
// The router follows the pool's keyspace events (the server must publish module events).
await redis.config('SET', 'notify-keyspace-events', 'Kd');

// A worker ID leased for 10 s, renewed in the background; IDs are bigints made in-process.
const ids = await LeasedSnowflake.acquire(redis, 'example:workers', { ttlMs: 10000, holder: `pid-${process.pid}` });
const id = ids.nextId();
console.log(`worker ${ids.workerId}: id ${id} ->`, ids.parse(id));
console.log('as text:', ids.nextIdString(), 'and 3 more:', ids.nextIds(3).join(' '));

// Sequence values served from memory, 1,000 at a time.
const orders = new SegmentSequence(redis, 'example:order-no', { segment: 1000 });
console.log('order numbers:', (await orders.nextValues(3)).join(' '));

// Which live worker owns a task: the same answer as WORKER.ROUTE, without a round trip.
const router = await TaskRouter.create(redis, 'example:workers');
console.log('task order:42 goes to worker', router.route('order:42'),
  '(WORKER.ROUTE says', (await redis.call('WORKER.ROUTE', 'example:workers', 'order:42'))[0][0] + ')');

await router.close();
await orders.close();
await ids.close(); // releases the worker ID
try {
  ids.nextId();
} catch (e) {
  console.log('after close:', e instanceof LeaseLost ? `LeaseLost (final: ${e.final})` : e);
}
redis.disconnect();
