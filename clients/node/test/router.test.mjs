import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { LeasedSnowflake, TaskRouter, workerRoute } from '../dist/esm/index.js';
import { KINDS, RedisServer, connect, disconnect, uniq } from './servers.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(pred, ms = 3000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return true;
    await sleep(10);
  }
  return pred();
}
function keys(n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(`task:${i}`);
  for (let i = 0; i < n / 4; i++) out.push(randomBytes(8));
  out.push('tâche', '');
  return out;
}

let srv;
before(async () => { srv = await new RedisServer().start(); });
after(async () => { await srv?.cleanup(); });

for (const kind of KINDS) {
  describe(`TaskRouter with ${kind}`, () => {
    let c;
    before(async () => { c = await connect(kind, srv.port); });
    after(async () => { await disconnect(c); });

    it('agrees with WORKER.ROUTE over many keys', async () => {
      const pool = uniq('pool');
      const gens = [];
      for (let i = 0; i < 12; i++) gens.push(await LeasedSnowflake.acquire(c, pool, { ttlMs: 10000, holder: `w${i}`, renew: false }));
      for (let i = 0; i < 12; i += 3) await gens[i].close(); // leave holes
      const router = await TaskRouter.create(c, pool, { events: false });
      assert.deepEqual(router.leases.map((l) => l.id).sort((a, b) => a - b),
        gens.filter((g) => g.isLive()).map((g) => g.workerId).sort((a, b) => a - b));
      let checked = 0;
      for (const k of keys(400)) {
        const server = await workerRoute(c, pool, k, 3);
        assert.equal(router.route(k), server[0].id, String(k));
        assert.deepEqual(router.ranked(k, 3).map((l) => l.id), server.map((l) => l.id), String(k));
        checked++;
      }
      assert.ok(checked > 500);
      assert.match(router.owner('task:1').holder, /^w\d+$/);
      await router.close();
      for (const g of gens) await g.close();
    });

    it('an empty pool routes nowhere', async () => {
      const router = await TaskRouter.create(c, uniq('pool'), { events: false });
      assert.equal(router.route('x'), null);
      assert.equal(router.owner('x'), null);
      assert.deepEqual(router.ranked('x', 3), []);
      await router.close();
    });

    it('follows keyspace events (acquire, release) without polling', async () => {
      const pool = uniq('pool');
      const router = await TaskRouter.create(c, pool, { refreshMs: 60000 });
      assert.deepEqual(router.leases, []);
      const a = await LeasedSnowflake.acquire(c, pool, { ttlMs: 5000 });
      assert.ok(await waitFor(() => router.leases.map((l) => l.id).join() === String(a.workerId)));
      const b = await LeasedSnowflake.acquire(c, pool, { ttlMs: 5000 });
      assert.ok(await waitFor(() => router.leases.length === 2));
      for (const k of keys(40)) assert.equal(router.route(k), (await workerRoute(c, pool, k))[0].id);
      await a.close();
      assert.ok(await waitFor(() => router.leases.map((l) => l.id).join() === String(b.workerId)));
      assert.ok(router.eventsSeen >= 3, `events ${router.eventsSeen}`);
      await b.close();
      assert.ok(await waitFor(() => router.leases.length === 0));
      await router.close();
    });

    it('drops a lease at its expiry', async () => {
      const pool = uniq('pool');
      const g = await LeasedSnowflake.acquire(c, pool, { ttlMs: 1000, renew: false });
      const router = await TaskRouter.create(c, pool, { refreshMs: 60000 });
      assert.equal(router.route('k'), g.workerId);
      assert.ok(await waitFor(() => router.route('k') === null, 2500));
      await router.close();
      await g.close();
    });
  });
}
