// In-process throughput of the Node client, beside a bare BigInt snowflake loop on this machine:
// LeasedSnowflake.nextId() IDs/s and SegmentSequence values/s (segments of 10,000), against a
// real redis-server with the module (IDGEN_SERVER, IDGEN_MODULE as for the tests).
// Usage: node bench.mjs [seconds per row, default 2]. Targets: >= 3M/s and >= 0.8x the bare loop.
import { performance } from 'node:perf_hooks';
import { LeasedSnowflake, SegmentSequence } from './dist/esm/index.js';
import { RedisServer, connect, disconnect } from './test/servers.mjs';

const SECONDS = Number(process.argv[2] ?? 2);
const EPOCH = 1704067200000n;

/** The bare loop: the same clock reads and BigInt arithmetic, no lease. */
function bare(ms) {
  let ts = -1;
  let seq = 0;
  let base = 0n;
  let n = 0;
  let sink = 0n;
  const end = performance.now() + ms;
  let cur = 0n;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) {
      const now = Date.now();
      if (now !== ts) {
        ts = now;
        seq = 0;
        base = ((BigInt(now) - EPOCH) << 22n) | (1n << 12n);
        cur = base;
      } else if (seq === 4095) {
        while (Date.now() === ts) { /* wait for the next ms */ }
        continue;
      }
      seq++;
      const v = cur;
      cur = v + 1n;
      sink ^= v;
    }
    n += 1000;
  }
  return [n, sink];
}

async function rate(label, fn, ms) {
  fn(Math.min(ms, 300)); // warm up
  const t0 = performance.now();
  const [n] = await fn(ms);
  const s = (performance.now() - t0) / 1000;
  return { label, perSec: n / s };
}

const srv = await new RedisServer().start();
try {
  const c = await connect('node-redis', srv.port);
  // maxBorrowMs 0: like the bare loop, wait for the clock when a millisecond's 4096 IDs are
  // used up (the sustained rate). The default (1000) lets a burst run ahead of the clock.
  const ids = await LeasedSnowflake.acquire(c, 'bench:pool', { ttlMs: 10000, maxBorrowMs: 0 });
  const burst = await LeasedSnowflake.acquire(c, 'bench:pool', { ttlMs: 10000 });
  const burstLoop = (ms) => {
    let n = 0;
    let sink = 0n;
    const end = performance.now() + Math.min(ms, 500);
    while (performance.now() < end) {
      for (let i = 0; i < 1000; i++) {
        try {
          sink ^= burst.nextId();
          n++;
        } catch { /* ClockAhead */ }
      }
    }
    return [n, sink];
  };
  const nextIdLoop = (ms) => {
    let n = 0;
    let sink = 0n;
    const end = performance.now() + ms;
    while (performance.now() < end) {
      for (let i = 0; i < 1000; i++) {
        try {
          sink ^= ids.nextId();
          n++;
        } catch { /* ClockAhead: a millisecond used up beyond maxBorrowMs */ }
      }
    }
    return [n, sink];
  };
  const seq = new SegmentSequence(c, 'bench:seq', { segment: 10000, minSegment: 10000, maxSegment: 10000 });
  const seqLoop = async (ms) => {
    let n = 0;
    let sink = 0n;
    const end = performance.now() + ms;
    while (performance.now() < end) {
      for (let i = 0; i < 1000; i++) sink ^= await seq.next();
      n += 1000;
    }
    return [n, sink];
  };
  const seqSyncLoop = async (ms) => {
    let n = 0;
    let sink = 0n;
    const end = performance.now() + ms;
    while (performance.now() < end) {
      for (let i = 0; i < 1000; i++) {
        const v = seq.tryNext();
        sink ^= v === undefined ? await seq.next() : v;
      }
      n += 1000;
    }
    return [n, sink];
  };
  const ms = SECONDS * 1000;
  const loop = await rate('bare BigInt snowflake loop', bare, ms);
  const rows = [
    loop,
    await rate('LeasedSnowflake.nextId() (sustained)', nextIdLoop, ms),
    await rate('LeasedSnowflake.nextId() (0.5 s burst, borrowing)', burstLoop, ms),
    await rate('SegmentSequence await next() (segment 10,000)', seqLoop, ms),
    await rate('SegmentSequence tryNext() (segment 10,000)', seqSyncLoop, ms),
  ];
  console.log(`node ${process.version}, ${SECONDS} s per row`);
  for (const r of rows) {
    const ratio = r.perSec / loop.perSec;
    const x = r === loop ? '' : `  ${ratio.toFixed(2)}x loop  ${r.perSec >= 3e6 ? 'PASS' : 'FAIL'} >= 3M/s, ` +
      `${ratio >= 0.8 ? 'PASS' : 'FAIL'} >= 0.8x loop`;
    console.log(`${r.label.padEnd(48)} ${(r.perSec / 1e6).toFixed(2).padStart(6)} M/s${x}`);
  }
  console.log(`renewals during the run: ${ids.renewals}, segment fetches: ${seq.fetches}, waits: ${seq.waits}`);
  await seq.close();
  await ids.close();
  await burst.close();
  await disconnect(c);
} finally {
  await srv.cleanup();
}
