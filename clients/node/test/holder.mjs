// A lease holder in its own process (forked by the tests): acquires a LeasedSnowflake from a
// pool, issues IDs in bursts for a random while, releases, starts again, until told to stop.
// Every ID goes to the parent (BigInt64Array over 'advanced' IPC) with the holder's counters.
// The parent may switch it to another server ({ port }) or stop it ({ stop: true }).
import { ClockAhead, Layout, LeaseLost, LeasedSnowflake } from '../dist/esm/index.js';
import { connect, disconnect } from './servers.mjs';

const cfg = JSON.parse(process.env.HOLDER_CONFIG);
const layout = new Layout(cfg.layout ?? {});
let client = await connect(cfg.kind, cfg.port, cfg.kind === 'ioredis'
  ? { maxRetriesPerRequest: 0, connectTimeout: 500, commandTimeout: 500, retryStrategy: () => 50 }
  : { socket: { port: cfg.port, host: '127.0.0.1', connectTimeout: 500, reconnectStrategy: 50 } });
let stop = false;
const stats = { leases: 0, lostFinal: 0, lostDeadline: 0, clockAhead: 0, refusals: {}, tenures: [], errors: [] };
let buf = new BigInt64Array(4096);
let n = 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rand = (a, b) => a + Math.random() * (b - a);

process.on('message', async (m) => {
  if (m.stop) stop = true;
  if (m.port) {
    const old = client;
    client = await connect(cfg.kind, m.port, cfg.kind === 'ioredis'
      ? { maxRetriesPerRequest: 0, connectTimeout: 500, commandTimeout: 500 }
      : { socket: { port: m.port, host: '127.0.0.1', connectTimeout: 500, reconnectStrategy: 50 } });
    await disconnect(old);
  }
});

function record(id) {
  if (n === buf.length) flush();
  buf[n++] = id;
}
function flush() {
  if (n > 0) process.send({ ids: buf.slice(0, n) });
  buf = new BigInt64Array(4096);
  n = 0;
}
const flusher = setInterval(flush, 50);

async function acquire() {
  while (!stop) {
    try {
      return await LeasedSnowflake.acquire(() => client, cfg.pool, {
        ttlMs: cfg.ttlMs, marginMs: cfg.marginMs, graceMs: cfg.graceMs, layout, maxWaitMs: 2,
      });
    } catch (e) {
      const k = e?.constructor?.name ?? 'Error';
      stats.refusals[k] = (stats.refusals[k] ?? 0) + 1;
      await sleep(30);
    }
  }
  return null;
}

try {
  while (!stop) {
    const g = await acquire();
    if (!g) break;
    stats.leases++;
    stats.tenures.push([g.workerId, String(g.token)]);
    process.send({ holding: true });
    const until = Date.now() + rand(cfg.holdMs[0], cfg.holdMs[1]);
    let lost = false;
    while (!stop && Date.now() < until) {
      const burst = [1, 64, 256][Math.floor(Math.random() * 3)];
      try {
        for (let i = 0; i < burst; i++) record(g.nextId());
      } catch (e) {
        if (e instanceof LeaseLost) {
          if (e.final) {
            stats.lostFinal++;
            lost = true;
            break;
          }
          stats.lostDeadline++;
          await sleep(20);
          continue;
        }
        if (e instanceof ClockAhead) {
          stats.clockAhead++;
          await sleep(2);
          continue;
        }
        throw e;
      }
      await sleep(2);
    }
    if (!lost && g.lost !== null) stats.lostFinal++;
    process.send({ holding: false });
    await g.close();
  }
} catch (e) {
  stats.errors.push(String(e?.stack ?? e));
}
flush();
clearInterval(flusher);
process.send({ done: stats }, () => {
  disconnect(client).finally(() => process.exit(0));
});
