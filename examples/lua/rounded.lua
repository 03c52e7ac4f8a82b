-- What NOT to do: the default integer reply passes through a Lua number (a double) and comes
-- back rounded. KEYS[1]: the snowflake key; ARGV[1]: how many IDs.
return redis.call('SNOWFLAKE.NEXT', KEYS[1], 'COUNT', ARGV[1])
