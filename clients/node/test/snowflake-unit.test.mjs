// LeasedSnowflake's clock and lease rules with a driven clock and a scripted pool (no server).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClockAhead, Layout, LeaseLost, LeasedSnowflake, ProtocolError } from '../dist/esm/index.js';

class ManualClock {
  constructor(wall = 1_800_000_000_000) { this.wall = wall; this.mono = 1000; }
  monotonic() { return this.mono; }
  wallMs() { return this.wall; }
  advance(ms, wall = true) { this.mono += ms; if (wall) this.wall += ms; }
}

/** A pool that grants worker 3 (token 7) with the given not-before; renewals as scripted. */
function fakePool(clock, { notBefore = 0, renew } = {}) {
  const calls = [];
  return {
    calls,
    call: async (cmd, ...args) => {
      calls.push([cmd, ...args]);
      if (cmd === 'WORKER.ACQUIRE') return ['3', '7', String(clock.wall + Number(args[1])), String(notBefore)];
      if (cmd === 'WORKER.RENEW') {
        if (renew) return renew(args);
        return [String(clock.wall + Number(args[3])), '0'];
      }
      if (cmd === 'WORKER.LIST') return [];
      return 'OK';
    },
  };
}

const LAYOUT = new Layout({ timeBits: 51, workerBits: 2, sequenceBits: 10 }); // 1024 per ms

async function gen(clock, pool, o = {}) {
  return LeasedSnowflake.acquire(pool, 'p', { ttlMs: 3000, marginMs: 300, layout: LAYOUT, renew: false, clock, ...o });
}

describe('LeasedSnowflake rules (driven clock)', () => {
  it('IDs carry the worker, increase, and stay above not-before', async () => {
    const clock = new ManualClock();
    const g = await gen(clock, fakePool(clock, { notBefore: clock.wall + 5 }));
    const ids = g.nextIds(3000); // 3 ms of sequence at a standing clock: borrows ahead
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1]);
    const first = g.parse(ids[0]);
    assert.equal(first.worker, 3);
    assert.equal(first.timestamp, clock.wall + 6);
    assert.equal(g.parse(ids.at(-1)).timestamp, clock.wall + 8);
  });

  it('keeps counting on the last timestamp when the clock goes back', async () => {
    const clock = new ManualClock();
    const g = await gen(clock, fakePool(clock));
    clock.advance(10);
    const a = g.nextId();
    clock.wall -= 500; // stepped back
    const b = g.nextId();
    assert.ok(b > a);
    assert.equal(g.parse(b).timestamp, g.parse(a).timestamp);
  });

  it('borrows at most maxBorrowMs ahead, then ClockAhead', async () => {
    const clock = new ManualClock();
    const g = await gen(clock, fakePool(clock), { maxBorrowMs: 2, maxWaitMs: 0 });
    clock.advance(1);
    const got = [];
    assert.throws(() => { for (;;) got.push(g.nextId()); }, ClockAhead);
    assert.equal(got.length, 3 * 1024); // the current ms and 2 borrowed
    clock.advance(1);
    assert.ok(g.nextId() > got.at(-1));
  });

  it('never uses a timestamp past what the lease covers', async () => {
    const clock = new ManualClock();
    const g = await gen(clock, fakePool(clock), { maxBorrowMs: 100000, maxWaitMs: 0 });
    let last;
    assert.throws(() => { for (;;) last = g.nextId(); }, ClockAhead);
    // deadline wall = acquire wall + ttl - margin
    assert.equal(g.parse(last).timestamp, 1_800_000_000_000 + 3000 - 300);
  });

  it('throws LeaseLost (not final) past the local deadline; a renewal resumes', async () => {
    const clock = new ManualClock();
    const pool = fakePool(clock);
    const g = await gen(clock, pool);
    g.nextId();
    clock.advance(2699);
    g.nextId();
    clock.advance(1);
    assert.throws(() => g.nextId(), (e) => e instanceof LeaseLost && !e.final);
    assert.equal(await g.renew(), true);
    g.nextId();
    const renew = pool.calls.find((c) => c[0] === 'WORKER.RENEW');
    assert.deepEqual(renew.slice(0, 5), ['WORKER.RENEW', 'p', '3', '7', '3000']);
    assert.equal(renew[5], 'LAST-TS');
  });

  it('a renewal whose not-before is above moves the generator above it', async () => {
    const clock = new ManualClock();
    const jump = clock.wall + 50;
    const g = await gen(clock, fakePool(clock, { renew: (a) => [String(clock.wall + 3000), String(jump)] }));
    const a = g.nextId();
    await g.renew();
    const b = g.nextId();
    assert.ok(b > a);
    assert.ok(g.parse(b).timestamp > jump);
  });

  it('LEASELOST is final; close() releases with LAST-TS once', async () => {
    const clock = new ManualClock();
    const pool = fakePool(clock, { renew: () => { throw new Error('LEASELOST the lease is gone'); } });
    const g = await gen(clock, pool);
    g.nextId();
    await assert.rejects(g.renew(), (e) => e instanceof LeaseLost && e.final);
    assert.throws(() => g.nextId(), (e) => e instanceof LeaseLost && e.final);
    await g.close();
    assert.equal(pool.calls.filter((c) => c[0] === 'WORKER.RELEASE').length, 0, 'nothing to release');
    const clock2 = new ManualClock();
    const pool2 = fakePool(clock2);
    const g2 = await gen(clock2, pool2);
    const id = g2.nextId();
    await g2.close();
    await g2.close();
    const rel = pool2.calls.filter((c) => c[0] === 'WORKER.RELEASE');
    assert.deepEqual(rel, [['WORKER.RELEASE', 'p', '3', '7', 'LAST-TS', String(g2.parse(id).timestamp)]]);
  });

  it('refuses an inexact integer reply', async () => {
    const clock = new ManualClock();
    const pool = { call: async () => [3, 2 ** 60, clock.wall, 0] };
    await assert.rejects(gen(clock, pool), ProtocolError);
  });
});
