// The renewal and refresh timers do not keep a process alive.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { it } from 'node:test';

it('a process with a live LeasedSnowflake, SegmentSequence and TaskRouter exits by itself', { timeout: 20000 }, () => {
  const code = `
    import { LeasedSnowflake, SegmentSequence, TaskRouter } from ${JSON.stringify(new URL('../dist/esm/index.js', import.meta.url).href)};
    // A scripted client without sockets: only the library's own timers could keep us alive.
    const fake = { call: async (cmd, ...a) => cmd === 'WORKER.ACQUIRE' ? ['0', '1', String(Date.now() + 1000), '0']
      : cmd === 'WORKER.RENEW' ? [String(Date.now() + 1000), '0']
      : cmd === 'WORKER.LIST' ? [['0', null, '1', String(Date.now() + 60000), '0']]
      : cmd === 'TIME' ? [String(Math.floor(Date.now() / 1000)), '0']
      : cmd === 'SEQ.NEXTBATCH' ? ['1', a[1]] : 'OK' };
    const g = await LeasedSnowflake.acquire(fake, 'p', { ttlMs: 1000 });
    const s = new SegmentSequence(fake, 'k', { segment: 10 });
    const r = await TaskRouter.create(fake, 'p', { events: false, refreshMs: 100 });
    console.log(String(g.nextId() > 0n), String(await s.next()), String(r.route('x')));
  `;
  const t0 = Date.now();
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 10000 });
  assert.equal(out.trim(), 'true 1 0');
  assert.ok(Date.now() - t0 < 5000);
});
