// examples/node-client/ids.mjs runs against a server and prints what it says.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { REPO, RedisServer } from './servers.mjs';

let srv;
before(async () => { srv = await new RedisServer().start(); });
after(async () => { await srv?.cleanup(); });

it('examples/node-client/ids.mjs', { timeout: 30000 }, () => {
  const out = execFileSync(process.execPath, [join(REPO, 'examples', 'node-client', 'ids.mjs')], {
    env: { ...process.env, IDGEN_PORT: String(srv.port) }, encoding: 'utf8', timeout: 20000,
  });
  assert.match(out, /^worker 0: id \d{15,19} -> \{ timestamp: \d+, worker: 0, sequence: 0 \}$/m);
  assert.match(out, /^order numbers: 1 2 3$/m);
  assert.match(out, /^task order:42 goes to worker 0 \(WORKER.ROUTE says 0\)$/m);
  assert.match(out, /^after close: LeaseLost \(final: true\)$/m);
});
