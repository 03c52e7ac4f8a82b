// Several processes leasing from one pool (both clients) never repeat an ID.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Holder, countRepeats } from './holders.mjs';
import { RedisServer, uniq } from './servers.mjs';

let srv;
before(async () => { srv = await new RedisServer().start(); });
after(async () => { await srv?.cleanup(); });

it('four forked processes (2 ioredis, 2 node-redis) on a pool of 2 IDs never repeat', async () => {
  const pool = uniq('pool');
  const base = { port: srv.port, pool, ttlMs: 1000, marginMs: 100, graceMs: 0, holdMs: [100, 400],
    layout: { timeBits: 52, workerBits: 1, sequenceBits: 10 } };
  const holders = ['ioredis', 'ioredis', 'node-redis', 'node-redis'].map((kind, i) => new Holder(i, { ...base, kind }));
  await new Promise((r) => setTimeout(r, 3000));
  await Promise.all(holders.map((h) => h.stop()));
  const { total, repeats } = countRepeats(holders);
  const leases = holders.reduce((s, h) => s + (h.stats?.leases ?? 0), 0);
  console.log(`# processes: ids=${total} repeats=${repeats} leases=${leases}`);
  for (const h of holders) assert.deepEqual(h.stats?.errors, [], `holder ${h.n}`);
  assert.ok(leases > 4, 'leases changed hands');
  assert.ok(total > 10000, `ids ${total}`);
  assert.equal(repeats, 0);
});
