-- Idempotent claims on a shared counter (a campaign's budget), in one hash slot.
-- KEYS[1]: the counter (an integer string), KEYS[2]: this claim (an integer string).
-- ARGV[1]: "reserve" or "settle", ARGV[2]: amount, ARGV[3]: limit, ARGV[4]: claim ttl in ms.
-- reserve: a claim made before answers what it was granted; else grants the amount, cut to
-- what the limit leaves, and adds it to the counter. settle: sets the claim to the amount
-- (negative gives back) and moves the counter by the difference. Returns the claim's amount.
local claimed = redis.call('GET', KEYS[2])
local amount = tonumber(ARGV[2])
if ARGV[1] == 'reserve' then
  if claimed then
    return tonumber(claimed)
  end
  local room = tonumber(ARGV[3]) - tonumber(redis.call('GET', KEYS[1]) or '0')
  amount = math.max(0, math.min(amount, room))
  claimed = '0'
end
redis.call('SET', KEYS[2], amount, 'PX', ARGV[4])
redis.call('INCRBY', KEYS[1], amount - tonumber(claimed or '0'))
return amount
