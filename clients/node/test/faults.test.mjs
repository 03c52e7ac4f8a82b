// Fault scenario (as clients/python/tests/test_faults.py): forked LeasedSnowflake holders issue
// IDs while one holder is paused past its TTL (SIGSTOP / SIGCONT), the server is kill -9'ed and
// restarted from its AOF (appendfsync always), and a replica is promoted (REPLICAOF NO ONE) and
// the holders switch to it. Every ID is recorded; no ID may appear twice. A control run shows
// the checker finds repeats when two generators share a worker ID without a lease.
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { LeasedSnowflake, Layout } from '../dist/esm/index.js';
import { Holder, countRepeats } from './holders.mjs';
import { RedisServer, rawCommand } from './servers.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TTL_MS = 1500;
const MARGIN_MS = 150;
const GRACE_MS = 300;
const HOLDERS = 5; // one more than the pool has IDs
const LAYOUT = { timeBits: 51, workerBits: 2, sequenceBits: 10 };

const servers = [];
after(async () => { for (const s of servers) await s.cleanup(); });

async function waitSynced(primary, replica, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const r = await rawCommand(replica.port, ['INFO', 'replication']);
      const p = await rawCommand(primary.port, ['INFO', 'replication']);
      const off = Number(/master_repl_offset:(\d+)/.exec(p)?.[1]);
      const got = Number(/slave_repl_offset:(\d+)/.exec(r)?.[1] ?? -1);
      if (/master_link_status:up/.test(r) && got >= off) return;
    } catch { /* retry */ }
    await sleep(50);
  }
  throw new Error('replica did not sync');
}

it('holders under SIGSTOP past the TTL, kill -9 + restart, and a failover never repeat an ID', { timeout: 90000 }, async () => {
  const started = Date.now();
  const aof = ['--appendfsync', 'always'];
  const primary = await new RedisServer({ extra: aof }).start();
  servers.push(primary);
  const replica = await new RedisServer({ extra: [...aof, '--replicaof', '127.0.0.1', String(primary.port)] }).start();
  servers.push(replica);
  const pool = 'faults:pool';
  const base = { port: primary.port, pool, ttlMs: TTL_MS, marginMs: MARGIN_MS, graceMs: GRACE_MS, layout: LAYOUT, holdMs: [500, 3000] };
  const holders = [];
  for (let i = 0; i < HOLDERS; i++) {
    holders.push(new Holder(i, { ...base, kind: i % 2 ? 'node-redis' : 'ioredis', holdMs: i === 0 ? [3.6e6, 3.6e6] : base.holdMs }));
  }
  const victim = holders[0];
  const log = [];
  try {
    await sleep(2500);
    // 1. One holder paused (SIGSTOP) past its TTL: on SIGCONT it must refuse (its deadline
    //    passed; the server says LEASELOST); a waiting holder takes its ID above its expiry.
    while (!victim.holding) await sleep(10);
    victim.proc.kill('SIGSTOP');
    log.push('SIGSTOP holder 0');
    await sleep(TTL_MS + GRACE_MS + 700);
    victim.proc.kill('SIGCONT');
    log.push('SIGCONT holder 0');
    await sleep(1500);

    // 2. kill -9 the primary under load and restart it from its AOF: once briefly (leases
    //    survive), once for longer than the TTL (they expire; the pool resumes).
    for (const downMs of [300, TTL_MS + 500]) {
      await primary.kill9();
      log.push(`kill -9 primary, down ${downMs} ms`);
      await sleep(downMs);
      await primary.start();
      await sleep(3000);
    }

    // 3. Failover: promote the replica, switch the holders over, kill the old primary.
    await waitSynced(primary, replica);
    await sleep(500);
    await rawCommand(replica.port, ['REPLICAOF', 'NO', 'ONE']);
    log.push('replica promoted');
    await sleep(100); // the old primary still serves for a moment (below MARGIN_MS)
    for (const h of holders) h.send({ port: replica.port });
    await primary.kill9();
    log.push('holders switched, old primary killed');
    await sleep(4000);
  } finally {
    await Promise.all(holders.map((h) => h.stop(15000)));
  }
  const stats = holders.map((h) => h.stats ?? { errors: ['no stats: killed'] });
  const errors = stats.flatMap((s) => s.errors);
  assert.deepEqual(errors, []);
  const { total, repeats } = countRepeats(holders);
  const sum = (k) => stats.reduce((s, x) => s + (x[k] ?? 0), 0);
  const summary = `faults: scenario=node-leases holders=${HOLDERS} ids=${total} repeats=${repeats} ` +
    `leases=${sum('leases')} leaselost=${sum('lostFinal')} deadline_refusals=${sum('lostDeadline')} ` +
    `seconds=${((Date.now() - started) / 1000).toFixed(1)}`;
  console.log(`# ${summary}\n#   ${log.join('; ')}\n#   ` +
    stats.map((s, i) => `h${i}: leases=${s.leases} lost=${s.lostFinal} refused=${s.lostDeadline} ahead=${s.clockAhead} acquire-refusals=${JSON.stringify(s.refusals)}`).join('; '));
  const v = stats[0];
  assert.ok(v.lostDeadline > 0 && v.lostFinal > 0, `the paused holder never stopped: ${JSON.stringify(v)}`);
  const [wid, token] = v.tenures[0];
  assert.ok(stats.slice(1).some((s) => s.tenures.some(([w, t]) => w === wid && BigInt(t) > BigInt(token))),
    "the paused holder's ID never went to another holder");
  assert.ok(sum('leases') > HOLDERS, 'no lease changed hands');
  assert.ok(total > 100000, `ids ${total}`);
  assert.equal(repeats, 0, summary);
});

it('control: two generators on one worker ID without a lease repeat (the checker can fail)', async () => {
  // A broken pool that grants worker 0 to everyone.
  const broken = {
    call: async (cmd) => (cmd === 'WORKER.ACQUIRE' ? ['0', '1', String(2 ** 52), '0']
      : cmd === 'WORKER.RENEW' ? [String(2 ** 52), '0'] : 'OK'),
  };
  const opts = { ttlMs: 10000, layout: new Layout(LAYOUT), renew: false };
  const gens = [await LeasedSnowflake.acquire(broken, 'p', opts), await LeasedSnowflake.acquire(broken, 'p', opts)];
  const recorded = gens.map(() => ({ chunks: [], count: 0 }));
  const end = Date.now() + 300;
  while (Date.now() < end) {
    for (let i = 0; i < 2; i++) {
      const a = BigInt64Array.from(gens[i].nextIds(64));
      recorded[i].chunks.push(a);
      recorded[i].count += a.length;
    }
    await sleep(1);
  }
  for (const g of gens) await g.close();
  const { total, repeats } = countRepeats(recorded);
  console.log(`# faults: scenario=node-control ids=${total} repeats=${repeats}`);
  assert.ok(repeats > 0);
});
