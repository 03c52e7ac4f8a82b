// UUID.NEXT output read by an independent reader, npm `uuid` (a devDependency): every reply is a
// valid UUID of version 7, one at a time and in COUNT batches, through each client library.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { validate, version } from 'uuid';
import { KINDS, RedisServer, connect, disconnect, uniq } from './servers.mjs';

let srv;
before(async () => { srv = await new RedisServer().start(); });
after(async () => { await srv?.cleanup(); });

for (const kind of KINDS) {
  describe(`UUID.NEXT read by npm uuid, through ${kind}`, () => {
    let c;
    let cmd;
    before(async () => {
      c = await connect(kind, srv.port);
      cmd = kind === 'ioredis' ? (a) => c.call(...a) : (a) => c.sendCommand(a);
    });
    after(async () => { await disconnect(c); });

    it('validate() and version() === 7, in issue order', async () => {
      const key = uniq('uuid');
      const one = await cmd(['UUID.NEXT', key]);
      assert.equal(typeof one, 'string');
      assert.ok(validate(one), one);
      assert.equal(version(one), 7);
      const many = await cmd(['UUID.NEXT', key, 'COUNT', '1000']);
      assert.equal(many.length, 1000);
      for (const s of many) {
        assert.ok(validate(s), s);
        assert.equal(version(s), 7);
        assert.match(s, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      }
      const all = [one, ...many];
      assert.equal(new Set(all).size, all.length);
      assert.deepEqual([...all].sort(), all, 'the text sorts in issue order');
    });
  });
}
