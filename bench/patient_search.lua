-- wrk script: GET /Patient?<param>=<random 3-letter prefix of a common name> (20 per page).
-- args: base64 credentials, search parameter (default "name")
local auth, param
local prefixes = { "gar", "lop", "mar", "fer", "gon", "rod", "san", "per", "mor", "jim",
  "ana", "jos", "jua", "mig", "car", "lau", "ben", "smi", "joh", "wil" }
function init(args)
  auth = args[1]
  param = args[2] or "name"
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end
function request()
  return wrk.format("GET", "/Patient?" .. param .. "=" .. prefixes[math.random(1, #prefixes)], {
    ["Authorization"] = "Basic " .. auth,
    ["Accept"] = "application/fhir+json",
  })
end
