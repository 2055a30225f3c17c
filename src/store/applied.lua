-- The input positions the store holds the writes of, one hash field per input partition.
-- KEYS[1]: the hash. ARGV: triples (field, at least, next).
-- Fails, writing nothing, if any field holds less than its "at least" (a missing field holds
-- -1): the store lost writes it had acknowledged. Otherwise raises each field to its "next"
-- where that is higher (to the highest, for a field given twice). Returns {} or {field, held}.
-- Fields are read with one HMGET and written with one HSET per thousand, not a call each: a
-- batch over many partitions, and the check of every partition before each batch, cost a
-- few calls.
local chunk = 1000
local fields = {}
for i = 1, #ARGV, 3 do
  fields[#fields + 1] = ARGV[i]
end
local held = {}
for first = 1, #fields, chunk do
  local last = math.min(first + chunk - 1, #fields)
  local values = redis.call('HMGET', KEYS[1], unpack(fields, first, last))
  for j = first, last do
    held[j] = tonumber(values[j - first + 1] or '-1')
  end
end
for j = 1, #fields do
  if held[j] < tonumber(ARGV[3 * j - 1]) then
    return {fields[j], tostring(held[j])}
  end
end
-- For each field to raise, the index of its highest "next".
local raised = {}
for j = 1, #fields do
  local field = fields[j]
  local current = raised[field] and tonumber(ARGV[3 * raised[field]]) or held[j]
  if tonumber(ARGV[3 * j]) > current then
    raised[field] = j
  end
end
local writes = {}
for field, j in pairs(raised) do
  writes[#writes + 1] = field
  writes[#writes + 1] = ARGV[3 * j]
end
for first = 1, #writes, 2 * chunk do
  redis.call('HSET', KEYS[1], unpack(writes, first, math.min(first + 2 * chunk - 1, #writes)))
end
return {}
