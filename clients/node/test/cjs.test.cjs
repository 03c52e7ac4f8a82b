// The CommonJS build: require() of dist/cjs and of the package name (exports map), both clients.
const assert = require('node:assert/strict');
const { after, before, it } = require('node:test');

let srv;
let servers;
before(async () => {
  servers = await import('./servers.mjs');
  srv = await new servers.RedisServer().start();
});
after(async () => { await srv?.cleanup(); });

it('require(dist/cjs) and require("idgen-client") are the same CommonJS module', () => {
  const a = require('../dist/cjs/index.js');
  const b = require('idgen-client');
  assert.equal(a, b);
  for (const name of ['LeasedSnowflake', 'SegmentSequence', 'TaskRouter', 'LeaseLost', 'NoReplicas', 'PoolFull',
    'PoolResuming', 'ClockAhead', 'ProtocolError', 'IdgenError', 'Layout', 'routeWeight']) {
    assert.equal(typeof a[name], 'function', name);
  }
  assert.ok(new a.LeaseLost('x', true) instanceof a.IdgenError);
});

for (const kind of ['ioredis', 'node-redis']) {
  it(`CommonJS classes work with ${kind}`, async () => {
    const { LeasedSnowflake, SegmentSequence, TaskRouter } = require('idgen-client');
    const c = await servers.connect(kind, srv.port);
    const pool = servers.uniq('pool');
    const g = await LeasedSnowflake.acquire(c, pool, { ttlMs: 5000 });
    const ids = g.nextIds(1000);
    assert.equal(new Set(ids).size, 1000);
    const seq = new SegmentSequence(c, servers.uniq('seq'), { segment: 100 });
    assert.equal(await seq.next(), 1n);
    const router = await TaskRouter.create(c, pool, { events: false });
    assert.equal(router.route('t'), g.workerId);
    await router.close();
    await seq.close();
    await g.close();
    await servers.disconnect(c);
  });
}
