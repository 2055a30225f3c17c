-- Compare-and-set of groups of versioned documents, each group in one hash slot, plus bounded
-- list appends that happen only if their group's documents were written: all or nothing per
-- group, groups independent of each other.
-- ARGV[1]: number of groups G. Then per group, in order: D (documents written), C (documents
-- only checked), L (lists appended to); D times: expected version ("0": must not exist), new
-- version, new data, ttl in ms ("0": none); C times: expected version; L times: entry count N,
-- last index kept, then N entries oldest first. A list is pushed to in one call and trimmed
-- only when it has grown past what is kept.
-- KEYS: per group, in order, its D written document keys (hashes with `version` and `data`),
-- its C checked document keys, its L list keys.
-- Returns one answer per group: 0 when applied, else the 1-based index (among the group's
-- written, then checked documents) of the first document not at its version.
local answers = {}
local at = 2
local k = 0
for g = 1, tonumber(ARGV[1]) do
  local documents = tonumber(ARGV[at])
  local checks = tonumber(ARGV[at + 1])
  local lists = tonumber(ARGV[at + 2])
  at = at + 3
  local answer = 0
  for i = 1, documents do
    if (redis.call('HGET', KEYS[k + i], 'version') or '0') ~= ARGV[at + 4 * (i - 1)] then
      answer = i
      break
    end
  end
  local checked = at + 4 * documents
  if answer == 0 then
    for c = 1, checks do
      if (redis.call('HGET', KEYS[k + documents + c], 'version') or '0') ~= ARGV[checked + c - 1] then
        answer = documents + c
        break
      end
    end
  end
  if answer == 0 then
    for i = 1, documents do
      local arg = at + 4 * (i - 1)
      redis.call('HSET', KEYS[k + i], 'version', ARGV[arg + 1], 'data', ARGV[arg + 2])
      if ARGV[arg + 3] ~= '0' then
        redis.call('PEXPIRE', KEYS[k + i], ARGV[arg + 3])
      end
    end
  end
  at = checked + checks
  for l = 1, lists do
    local key = KEYS[k + documents + checks + l]
    local count = tonumber(ARGV[at])
    if answer == 0 and count > 0 then
      local length = 0
      local first, last = at + 2, at + 1 + count
      while first <= last do
        local upto = math.min(first + 999, last)
        length = redis.call('LPUSH', key, unpack(ARGV, first, upto))
        first = upto + 1
      end
      if length > tonumber(ARGV[at + 1]) + 1 then
        redis.call('LTRIM', key, 0, ARGV[at + 1])
      end
    end
    at = at + 2 + count
  end
  k = k + documents + checks + lists
  answers[g] = answer
end
return answers
