-- wrk script: GET /Patient/<random id> with a Basic authorization header.
-- args: base64 credentials, highest patient id
local auth, maxid
function init(args)
  auth = args[1]
  maxid = tonumber(args[2])
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end
function request()
  return wrk.format("GET", "/Patient/" .. math.random(1, maxid), {
    ["Authorization"] = "Basic " .. auth,
    ["Accept"] = "application/fhir+json",
  })
end
