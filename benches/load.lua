-- wrk script for benches/load.sh: POST /v1/search with a rotating set of questions.
--
--   wrk -t2 -c8 -d10s --latency -s benches/load.lua http://127.0.0.1:7070 -- QUESTIONS.jsonl MODE [TOKEN]
--
-- QUESTIONS.jsonl: one JSON object a line with a "question" (corpus/questions.jsonl) or "text"
-- (a BEIR queries.jsonl) field. MODE: lexical, dense or hybrid. Each thread starts at another
-- question and goes round them in order. done() prints one RESULT line that load.sh reads.

local questions = {}
local mode = "hybrid"
local token = nil
local at = 1
local threads = {}

local function json_string(s)
  s = s:gsub('\\', '\\\\'):gsub('"', '\\"'):gsub('\n', '\\n'):gsub('\r', '\\r'):gsub('\t', '\\t')
  return '"' .. s .. '"'
end

local function unescape(s)
  return (s:gsub('\\"', '"'):gsub('\\\\', '\\'))
end

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local path = args[1] or "corpus/questions.jsonl"
  mode = args[2] or "hybrid"
  token = args[3]
  for line in io.lines(path) do
    local q = line:match('"question"%s*:%s*"(.-[^\\])"') or line:match('"text"%s*:%s*"(.-[^\\])"')
    if q then
      table.insert(questions, unescape(q))
    end
  end
  if #questions == 0 then
    error("no questions in " .. path)
  end
  at = ((id or 1) * 7) % #questions + 1
end

function request()
  local q = questions[at]
  at = at % #questions + 1
  local body = '{"query":' .. json_string(q) .. ',"mode":"' .. mode .. '","max_hits":10}'
  local headers = { ["Content-Type"] = "application/json" }
  if token then
    headers["Authorization"] = "Bearer " .. token
  end
  return wrk.format("POST", "/v1/search", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000,
    e.connect + e.read + e.write + e.timeout, e.status))
end
