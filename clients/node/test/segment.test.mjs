import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProtocolError, SegmentSequence } from '../dist/esm/index.js';
import { KINDS, RedisServer, connect, disconnect, uniq } from './servers.mjs';

let srv;
before(async () => { srv = await new RedisServer().start(); });
after(async () => { await srv?.cleanup(); });

const send = (c, a) => (typeof c.call === 'function' ? c.call(...a) : c.sendCommand(a));

for (const kind of KINDS) {
  describe(`SegmentSequence with ${kind}`, () => {
    let c;
    before(async () => { c = await connect(kind, srv.port, kind === 'ioredis' ? { stringNumbers: true } : {}); });
    after(async () => { await disconnect(c); });

    it('hands out 1, 2, 3, ... across segments, the next one fetched before it is needed', async () => {
      const key = uniq('seq');
      const seq = new SegmentSequence(c, key, { segment: 100, minSegment: 100, maxSegment: 100, prefetchAt: 0.5 });
      const got = [];
      for (let round = 0; round < 20; round++) {
        for (let i = 0; i < 60; i++) got.push(await seq.next()); // passes the trigger (50)
        await new Promise((r) => setTimeout(r, 20)); // the prefetch lands meanwhile
        for (let i = 0; i < 40; i++) got.push(await seq.next());
      }
      assert.deepEqual(got, Array.from({ length: 2000 }, (_, i) => BigInt(i + 1)));
      assert.equal(seq.waits, 1, 'only the first segment was waited for');
      assert.ok(seq.fetches >= 20);
      await seq.close();
      await assert.rejects(seq.next());
    });

    it('honours INCREMENT and START and is exact above 2^53', async () => {
      const key = uniq('seq');
      const start = (1n << 60n) + 7n;
      await send(c, ['SEQ.CREATE', key, 'START', String(start), 'INCREMENT', '3']);
      const seq = new SegmentSequence(c, key, { segment: 10, minSegment: 1 });
      const vs = await seq.nextValues(25);
      assert.deepEqual(vs, Array.from({ length: 25 }, (_, i) => start + 3n * BigInt(i)));
      await seq.close();
    });

    it('instances sharing a key never repeat', async () => {
      const key = uniq('seq');
      const a = new SegmentSequence(c, key, { segment: 100 });
      const b = new SegmentSequence(c, key, { segment: 150 });
      const all = [];
      for (let i = 0; i < 3000; i++) all.push(await a.next(), await b.next());
      assert.equal(new Set(all).size, all.length);
      await a.close();
      await b.close();
    });
  });
}

describe('exact integers', () => {
  it('an ioredis client without stringNumbers refuses a rounded value', async () => {
    const c = await connect('ioredis', srv.port);
    const key = uniq('seq');
    await send(c, ['SEQ.CREATE', key, 'START', String((1n << 60n) + 1n)]);
    const seq = new SegmentSequence(c, key, { segment: 10 });
    await assert.rejects(seq.next(), ProtocolError);
    await seq.close();
    // Small values are exact and accepted.
    const small = new SegmentSequence(c, uniq('seq'), { segment: 10 });
    assert.equal(await small.next(), 1n);
    await small.close();
    await disconnect(c);
  });
});
