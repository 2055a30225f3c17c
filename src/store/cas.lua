-- Compare-and-set of several versioned documents in one hash slot, plus bounded list appends
-- that happen only if the documents were written: all or nothing.
-- ARGV[1]: number of documents D written, ARGV[2]: number of documents C only checked.
-- KEYS[1..D] written document keys (hashes with `version` and `data`), KEYS[D+1..D+C] checked
-- document keys, KEYS[D+C+1..] list keys.
-- ARGV, three per written document from ARGV[3]: expected version ("0": must not exist), new
-- data, ttl in ms ("0": none). Then one per checked document: its expected version. Then per
-- list: entry count N, keep, then N entries oldest first.
-- Returns 0 when applied, else the 1-based index (in KEYS) of the first document not at its
-- version.
local documents = tonumber(ARGV[1])
local checks = tonumber(ARGV[2])
for i = 1, documents do
  local current = redis.call('HGET', KEYS[i], 'version') or '0'
  if current ~= ARGV[3 * i] then
    return i
  end
end
for c = 1, checks do
  local current = redis.call('HGET', KEYS[documents + c], 'version') or '0'
  if current ~= ARGV[3 * documents + 2 + c] then
    return documents + c
  end
end
for i = 1, documents do
  redis.call('HSET', KEYS[i], 'version', tonumber(ARGV[3 * i]) + 1, 'data', ARGV[3 * i + 1])
  local ttl = tonumber(ARGV[3 * i + 2])
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end
local at = 3 * documents + checks + 3
for k = documents + checks + 1, #KEYS do
  local count = tonumber(ARGV[at])
  local keep = tonumber(ARGV[at + 1])
  for e = 1, count do
    redis.call('LPUSH', KEYS[k], ARGV[at + 1 + e])
  end
  redis.call('LTRIM', KEYS[k], 0, keep - 1)
  at = at + 2 + count
end
return 0
