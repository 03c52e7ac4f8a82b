import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClockAhead, IdgenError, LeaseLost, LeasedSnowflake, PoolFull, workerList } from '../dist/esm/index.js';
import { KINDS, RedisServer, connect, disconnect, uniq } from './servers.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let srv;
before(async () => { srv = await new RedisServer().start(); });
after(async () => { await srv?.cleanup(); });

for (const kind of KINDS) {
  describe(`LeasedSnowflake with ${kind}`, () => {
    let c;
    before(async () => { c = await connect(kind, srv.port); });
    after(async () => { await disconnect(c); });

    it('issues increasing unique IDs that parse to its worker', async () => {
      const pool = uniq('pool');
      const g = await LeasedSnowflake.acquire(c, pool, { ttlMs: 5000, holder: 'a' });
      const g2 = await LeasedSnowflake.acquire(c, pool, { ttlMs: 5000, holder: 'b' });
      assert.notEqual(g.workerId, g2.workerId);
      const ids = [...g.nextIds(20000), ...g2.nextIds(20000)];
      assert.equal(new Set(ids).size, ids.length);
      for (let i = 1; i < 20000; i++) assert.ok(ids[i] > ids[i - 1]);
      const p = g.parse(ids[0]);
      assert.equal(p.worker, g.workerId);
      assert.ok(Math.abs(p.timestamp - Date.now()) < 5000, `timestamp ${p.timestamp}`);
      assert.ok(p.timestamp > g.notBeforeMs);
      const s = g.nextIdString();
      assert.match(s, /^\d+$/);
      assert.ok(BigInt(s) > ids[19999]);
      assert.equal(typeof g.nextId(), 'bigint');
      const leases = await workerList(c, pool);
      assert.deepEqual(leases.map((l) => l.holder).sort(), ['a', 'b']);
      await g.close();
      await g2.close();
      assert.deepEqual(await workerList(c, pool), []);
      assert.throws(() => g.nextId(), (e) => e instanceof LeaseLost && e.final === true);
      await g.close(); // twice is fine
    });

    it('renews on a timer and reports LAST-TS', async () => {
      const pool = uniq('pool');
      const g = await LeasedSnowflake.acquire(c, pool, { ttlMs: 1200 });
      const first = g.nextId();
      await sleep(1500); // past the TTL: only renewals keep it
      assert.ok(g.renewals >= 2, `renewals ${g.renewals}`);
      assert.ok(g.isLive());
      assert.ok(g.nextId() > first);
      const [lease] = await workerList(c, pool);
      assert.equal(lease.id, g.workerId);
      assert.ok(lease.notBeforeMs >= g.parse(first).timestamp, 'the server knows the LAST-TS');
      await g.close();
    });

    it('starts above the grant not-before', async () => {
      const pool = uniq('pool');
      // A previous holder of worker 0 reported a timestamp 800 ms ahead of the clock.
      const conn = kind === 'ioredis' ? (a) => c.call(...a) : (a) => c.sendCommand(a);
      const [id, token] = await conn(['WORKER.ACQUIRE', pool, '1000', 'GRACE', '0']);
      const ahead = Date.now() + 800;
      await conn(['WORKER.RELEASE', pool, String(id), String(token), 'LAST-TS', String(ahead)]);
      const g = await LeasedSnowflake.acquire(c, pool, { ttlMs: 5000 });
      assert.equal(g.workerId, Number(id));
      assert.ok(g.notBeforeMs >= ahead, `not-before ${g.notBeforeMs} < ${ahead}`);
      const ids = g.nextIds(5000);
      for (const x of ids) assert.ok(g.parse(x).timestamp > g.notBeforeMs);
      await g.close();
    });

    it('throws LeaseLost (final) after LEASELOST from the server', async () => {
      const pool = uniq('pool');
      const g = await LeasedSnowflake.acquire(c, pool, { ttlMs: 5000, renew: false });
      g.nextId();
      const conn = kind === 'ioredis' ? (a) => c.call(...a) : (a) => c.sendCommand(a);
      await conn(['WORKER.RELEASE', pool, String(g.workerId), String(g.token)]);
      await assert.rejects(g.renew(), (e) => e instanceof LeaseLost && e.final);
      assert.throws(() => g.nextId(), (e) => e instanceof LeaseLost && e.final);
      await g.close();
    });

    it('stops issuing at the local deadline without renewals', async () => {
      const pool = uniq('pool');
      const g = await LeasedSnowflake.acquire(c, pool, { ttlMs: 1000, marginMs: 100, renew: false });
      g.nextId();
      await sleep(910);
      assert.throws(() => g.nextId(), (e) => e instanceof LeaseLost && e.final === false);
      assert.ok(!g.isLive());
      // A renewal while the server still holds the lease resumes issuing.
      assert.equal(await g.renew(), true);
      g.nextId();
      await g.close();
    });

    it('refuses a second live generator on the same holder in one process', async () => {
      const pool = uniq('pool');
      const g = await LeasedSnowflake.acquire(c, pool, { ttlMs: 5000, holder: 'same' });
      await assert.rejects(LeasedSnowflake.acquire(c, pool, { ttlMs: 5000, holder: 'same' }), IdgenError);
      await g.close();
    });

    it('raises PoolFull when no worker ID is free', async () => {
      const pool = uniq('pool');
      const g = await LeasedSnowflake.acquire(c, pool, { ttlMs: 5000, size: 1 });
      await assert.rejects(LeasedSnowflake.acquire(c, pool, { ttlMs: 5000, size: 1 }),
        (e) => e instanceof PoolFull && typeof e.retryAfterMs === 'number');
      await g.close();
    });

    it('keeps a lease asked for again by a restarted holder above its old expiry', async () => {
      const pool = uniq('pool');
      const conn = kind === 'ioredis' ? (a) => c.call(...a) : (a) => c.sendCommand(a);
      // An earlier incarnation of holder "svc" (another process) holds worker 0 until ~2 s.
      const [id, , exp] = await conn(['WORKER.ACQUIRE', pool, '2000', 'HOLDER', 'svc']);
      const g = await LeasedSnowflake.acquire(c, pool, { ttlMs: 3000, holder: 'svc', marginMs: 100 });
      assert.equal(g.workerId, Number(id));
      assert.ok(g.kept);
      // The first IDs lie above the old expiry: until the lease covers them, ClockAhead.
      let x;
      const end = Date.now() + 3000;
      while (Date.now() < end) {
        try { x = g.nextId(); break; } catch (e) {
          assert.ok(e instanceof ClockAhead, String(e));
          await sleep(20);
        }
      }
      assert.ok(x !== undefined);
      assert.ok(g.parse(x).timestamp > Number(exp));
      await g.close();
    });
  });
}
