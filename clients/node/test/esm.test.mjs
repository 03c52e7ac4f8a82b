// The ES module build: import of dist/esm and of the package name (exports map).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { it } from 'node:test';
import * as direct from '../dist/esm/index.js';
import * as named from 'idgen-client';

it('import "idgen-client" resolves to dist/esm, distinct from the CommonJS build', async () => {
  assert.equal(named.LeasedSnowflake, direct.LeasedSnowflake);
  const cjs = createRequire(import.meta.url)('idgen-client');
  assert.notEqual(cjs.LeasedSnowflake, direct.LeasedSnowflake);
  for (const name of ['LeasedSnowflake', 'SegmentSequence', 'TaskRouter', 'LeaseLost', 'NoReplicas', 'PoolFull']) {
    assert.equal(typeof named[name], 'function', name);
  }
  assert.match(import.meta.resolve('idgen-client'), /dist\/esm\/index\.js$/);
});
