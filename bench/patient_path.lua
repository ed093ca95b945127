-- wrk script: GET a path about a random patient, with a Basic authorization header.
-- args: base64 credentials, highest patient id, path template ("{id}" becomes the id;
-- a template without it is requested as it is)
local auth, maxid, template
function init(args)
  auth = args[1]
  maxid = tonumber(args[2])
  template = args[3]
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end
function request()
  local path = template:gsub("{id}", tostring(math.random(1, maxid)))
  return wrk.format("GET", path, {
    ["Authorization"] = "Basic " .. auth,
    ["Accept"] = "application/fhir+json",
  })
end
