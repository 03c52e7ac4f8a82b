'use strict';
// Runs against a redis-server with the idgen module on $IDGEN_PORT (examples/with-server.sh
// starts one) and compares what the JavaScript clients receive with what redis-cli shows.
const test = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const Redis = require('ioredis');
const { createClient } = require('redis');
const { nextId, nextIds, nextIdNodeRedis, nextIdsNodeRedis, parseDefault } = require('../ids');

const port = Number(process.env.IDGEN_PORT);
if (!port) throw new Error('IDGEN_PORT is not set: run through examples/with-server.sh');

/** redis-cli's raw output of one command, as a list of lines. */
function cli(...args) {
  return execFileSync('redis-cli', ['-p', String(port), '--raw', ...args], { encoding: 'utf8' })
    .trim()
    .split('\n');
}

/** SNOWFLAKE.PARSE through redis-cli, as an object. */
function cliParse(key, id) {
  const l = cli('SNOWFLAKE.PARSE', key, String(id));
  return { [l[0]]: Number(l[1]), [l[2]]: Number(l[3]), [l[4]]: Number(l[5]) };
}

function assertIncreasingExact(ids) {
  for (const id of ids) assert.match(id, /^[0-9]+$/);
  for (let i = 1; i < ids.length; i++) assert.ok(BigInt(ids[i]) > BigInt(ids[i - 1]));
  assert.strictEqual(new Set(ids).size, ids.length);
}

test('ioredis: integer replies are rounded, FORMAT STRING is exact', async () => {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  await redis.connect();
  try {
    // The default integer reply: 1000 distinct IDs arrive as far fewer distinct numbers.
    const rounded = await redis.call('SNOWFLAKE.NEXT', 'io:id', 'COUNT', '1000');
    assert.strictEqual(typeof rounded[0], 'number');
    assert.ok(!Number.isSafeInteger(rounded[0]), 'above 2^53');
    const distinct = new Set(rounded).size;
    console.log(`ioredis, integer reply: 1000 IDs arrived as ${distinct} distinct numbers`);
    assert.ok(distinct < 1000);

    // FORMAT STRING: every ID exact and in order.
    const ids = await nextIds(redis, 'io:id', 1000);
    assertIncreasingExact(ids);
    assert.ok(BigInt(ids[0]) > BigInt(Math.max(...rounded)) - 4096n);
    const one = await nextId(redis, 'io:id');
    assert.ok(BigInt(one) > BigInt(ids[999]));
    // redis-cli splits the same ID the same way the BigInt arithmetic does.
    assert.deepStrictEqual(cliParse('io:id', one), parseDefault(one));
    // ... and the next ID redis-cli gets is above the last one JavaScript got.
    const after = cli('SNOWFLAKE.NEXT', 'io:id', 'FORMAT', 'STRING')[0];
    assert.ok(BigInt(after) > BigInt(one));
    console.log(`ioredis, FORMAT STRING: 1000 distinct; ${one} -> redis-cli next ${after}`);

    // A key whose default format is STRING needs nothing per call.
    await redis.call('SNOWFLAKE.CREATE', 'io:str', 'FORMAT', 'STRING');
    const s = await redis.call('SNOWFLAKE.NEXT', 'io:str');
    assert.strictEqual(typeof s, 'string');
    assert.deepStrictEqual(cliParse('io:str', s), parseDefault(s));
  } finally {
    redis.disconnect();
  }
});

test('node-redis: integer replies are rounded, FORMAT STRING is exact', async () => {
  const client = createClient({ socket: { port, host: '127.0.0.1' } });
  await client.connect();
  try {
    const rounded = await client.sendCommand(['SNOWFLAKE.NEXT', 'nr:id', 'COUNT', '1000']);
    assert.strictEqual(typeof rounded[0], 'number');
    const distinct = new Set(rounded).size;
    console.log(`node-redis, integer reply: 1000 IDs arrived as ${distinct} distinct numbers`);
    assert.ok(distinct < 1000);

    const ids = await nextIdsNodeRedis(client, 'nr:id', 1000);
    assertIncreasingExact(ids);
    const one = await nextIdNodeRedis(client, 'nr:id');
    assert.ok(BigInt(one) > BigInt(ids[999]));
    assert.deepStrictEqual(cliParse('nr:id', one), parseDefault(one));
    const after = cli('SNOWFLAKE.NEXT', 'nr:id', 'FORMAT', 'STRING')[0];
    assert.ok(BigInt(after) > BigInt(one));
    console.log(`node-redis, FORMAT STRING: 1000 distinct; ${one} -> redis-cli next ${after}`);
  } finally {
    await client.quit();
  }
});

test('JS-SAFE layout: integer replies stay exact below 2^53', async () => {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  await redis.connect();
  try {
    await redis.call('SNOWFLAKE.CREATE', 'io:js', 'LAYOUT', 'JS-SAFE');
    const ids = await redis.call('SNOWFLAKE.NEXT', 'io:js', 'COUNT', '1000');
    assert.ok(ids.every(Number.isSafeInteger));
    assert.strictEqual(new Set(ids).size, 1000);
    const last = ids[999];
    assert.strictEqual(cli('SNOWFLAKE.PARSE', 'io:js', String(last)).length, 6);
    const after = Number(cli('SNOWFLAKE.NEXT', 'io:js')[0]);
    assert.ok(after > last);
  } finally {
    redis.disconnect();
  }
});
