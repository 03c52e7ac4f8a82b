// The route hash and the layouts against the shared known answers (fixtures/vectors.json).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Layout, routeIds, routeWeight } from '../dist/esm/index.js';
import { REPO } from './servers.mjs';

const V = JSON.parse(readFileSync(join(REPO, 'fixtures', 'vectors.json'), 'utf8'));
const key = (hex) => Buffer.from(hex, 'hex');

describe('fixtures/vectors.json', () => {
  it('route_weight', () => {
    assert.ok(V.route_weight.length > 0);
    for (const v of V.route_weight) {
      assert.equal('0x' + routeWeight(key(v.key_hex), v.id).toString(16).padStart(16, '0'), v.weight, JSON.stringify(v));
    }
  });

  it('route (top 1, 2 and 3)', () => {
    assert.ok(V.route.length > 0);
    for (const v of V.route) {
      for (let n = 1; n <= v.top.length; n++) {
        assert.deepEqual(routeIds(key(v.key_hex), v.ids, n), v.top.slice(0, n), JSON.stringify(v));
      }
    }
  });

  it('a string key hashes as its UTF-8 bytes', () => {
    const v = V.route_weight.find((x) => x.key_hex === '74c3a2636865');
    assert.equal(routeWeight('tâche', v.id), BigInt(v.weight));
  });

  it('layouts and parse', () => {
    const layouts = {};
    for (const l of V.layouts) {
      layouts[l.name] = new Layout({
        timeBits: l.time_bits, workerBits: l.worker_bits, sequenceBits: l.sequence_bits,
        epochMs: l.epoch_ms, timeUnitMs: l.time_unit_ms,
      });
    }
    assert.deepEqual(Object.keys(layouts).sort(), ['DEFAULT', 'JS-SAFE']);
    for (const [name, ours] of [['DEFAULT', Layout.DEFAULT], ['JS-SAFE', Layout.JS_SAFE]]) {
      assert.deepEqual({ ...ours }, { ...layouts[name] });
    }
    assert.ok(V.parse.length > 0);
    for (const p of V.parse) {
      const lay = layouts[p.layout];
      const got = lay.parse(p.id);
      assert.deepEqual(got, { timestamp: p.timestamp_ms, worker: p.worker, sequence: p.sequence }, JSON.stringify(p));
      assert.equal(lay.parse(BigInt(p.id)).timestamp, p.timestamp_ms);
      assert.equal(lay.compose(p.timestamp_ms, p.worker, p.sequence), BigInt(p.id));
    }
  });
});
