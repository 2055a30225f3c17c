-- Compare-and-set of several versioned documents in one hash slot: all or nothing.
-- KEYS[i]: document keys (hashes with fields `version` and `data`).
-- ARGV, three per key: expected version ("0": must not exist), new data, ttl in ms ("0": none).
-- Returns 0 when applied, else the 1-based index of the first key not at its expected version.
for i = 1, #KEYS do
  local current = redis.call('HGET', KEYS[i], 'version') or '0'
  if current ~= ARGV[3 * i - 2] then
    return i
  end
end
for i = 1, #KEYS do
  redis.call('HSET', KEYS[i], 'version', tonumber(ARGV[3 * i - 2]) + 1, 'data', ARGV[3 * i - 1])
  local ttl = tonumber(ARGV[3 * i])
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end
return 0
