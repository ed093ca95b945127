-- wrk script for the soak test: a mix of authenticated requests on random patients —
-- 7 in 10 a Patient read, then a patient's Observations with their subject, a family-name
-- search and a patient's $everything — each connection waiting `delay` ms between its
-- requests, so that the rate stays below the server's capacity.
-- args: base64 credentials, largest patient id, delay in ms
local auth, maxid, pause
local prefixes = { "gar", "lop", "mar", "fer", "gon", "rod", "san", "per", "mor", "jim" }
function init(args)
  auth = args[1]
  maxid = tonumber(args[2]) or 1000
  pause = tonumber(args[3]) or 0
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end
function delay()
  return pause
end
function request()
  local id = math.random(1, maxid)
  local pick = math.random(1, 10)
  local path
  if pick <= 7 then
    path = "/Patient/" .. id
  elseif pick == 8 then
    path = "/Observation?patient=" .. id .. "&_include=Observation:subject"
  elseif pick == 9 then
    path = "/Patient?family=" .. prefixes[math.random(1, #prefixes)]
  else
    path = "/Patient/" .. id .. "/$everything?_count=50"
  end
  return wrk.format("GET", path, {
    ["Authorization"] = "Basic " .. auth,
    ["Accept"] = "application/fhir+json",
  })
end
