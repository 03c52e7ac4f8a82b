'use strict';
// Exact snowflake IDs from idgen in Node.js.
//
// JavaScript numbers are doubles: they hold integers exactly only up to 2^53 - 1. A snowflake ID
// of the default layout is a 63-bit integer, so an integer reply arrives rounded to the nearest
// double (ioredis and node-redis both turn integer replies into numbers by default). Ask idgen
// for the text instead, FORMAT STRING, and keep IDs as strings (or BigInt when you compute with
// them). A key can make it its default: SNOWFLAKE.CREATE key FORMAT STRING.

/** The next ID of `key` as a decimal string, with an ioredis client. */
function nextId(redis, key) {
  return redis.call('SNOWFLAKE.NEXT', key, 'FORMAT', 'STRING');
}

/** The next `n` IDs of `key` as decimal strings, with an ioredis client. */
function nextIds(redis, key, n) {
  return redis.call('SNOWFLAKE.NEXT', key, 'COUNT', String(n), 'FORMAT', 'STRING');
}

/** The next ID of `key` as a decimal string, with a node-redis client. */
function nextIdNodeRedis(client, key) {
  return client.sendCommand(['SNOWFLAKE.NEXT', key, 'FORMAT', 'STRING']);
}

/** The next `n` IDs of `key` as decimal strings, with a node-redis client. */
function nextIdsNodeRedis(client, key, n) {
  return client.sendCommand(['SNOWFLAKE.NEXT', key, 'COUNT', String(n), 'FORMAT', 'STRING']);
}

/**
 * Splits an ID of the default layout (41/10/12 bits, epoch 2024-01-01) the way SNOWFLAKE.PARSE
 * does, with BigInt arithmetic (exact).
 */
function parseDefault(id) {
  const v = BigInt(id);
  return {
    timestamp: Number((v >> 22n) + 1704067200000n),
    worker: Number((v >> 12n) & 1023n),
    sequence: Number(v & 4095n),
  };
}

module.exports = { nextId, nextIds, nextIdNodeRedis, nextIdsNodeRedis, parseDefault };
