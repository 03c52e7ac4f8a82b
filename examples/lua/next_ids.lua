-- Exact snowflake IDs inside a Lua script (EVAL / FCALL).
--
-- Lua in Redis holds numbers as doubles: an integer reply of SNOWFLAKE.NEXT (63 bits) is
-- rounded on its way into the script, and rounded IDs repeat. Ask for the text instead,
-- FORMAT STRING: strings pass through Lua exactly.
--
-- KEYS[1]: the snowflake key; KEYS[2]: a list that receives the IDs (an outbox, say).
-- ARGV[1]: how many IDs. Returns the IDs as strings.
local ids = redis.call('SNOWFLAKE.NEXT', KEYS[1], 'COUNT', ARGV[1], 'FORMAT', 'STRING')
for _, id in ipairs(ids) do
    redis.call('RPUSH', KEYS[2], id)
end
return ids
