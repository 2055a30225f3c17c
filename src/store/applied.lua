-- The input positions the store holds the writes of, one hash field per input partition.
-- KEYS[1]: the hash. ARGV: triples (field, at least, next).
-- Fails, writing nothing, if any field holds less than its "at least" (a missing field holds
-- -1): the store lost writes it had acknowledged. Otherwise raises each field to its "next"
-- where that is higher. Returns {} or {field, held}.
for i = 1, #ARGV, 3 do
  local held = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '-1')
  if held < tonumber(ARGV[i + 1]) then
    return {ARGV[i], tostring(held)}
  end
end
for i = 1, #ARGV, 3 do
  local held = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '-1')
  if tonumber(ARGV[i + 2]) > held then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
  end
end
return {}
