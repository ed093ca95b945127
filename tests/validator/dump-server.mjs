// Collects what a running gnuhealth-fhir server emits, for validate.mjs: the
// CapabilityStatement, every page of every resource type it lists (following the
// Bundle `next` links, up to a limit per type), subset answers (`_summary`, `_elements`:
// what is left must still be valid), `Patient/[id]/$everything` of the first patients
// and a few error OperationOutcomes.
// Usage: node dump-server.mjs BASE_URL LOGIN PASSWORD OUT.ndjson [MAX_PER_TYPE]
import { writeFileSync } from 'node:fs';

const [base, login, password, out, maxArg] = process.argv.slice(2);
if (!out) {
  console.error('usage: dump-server.mjs BASE_URL LOGIN PASSWORD OUT.ndjson [MAX_PER_TYPE]');
  process.exit(2);
}
const maxPerType = Number(maxArg ?? 2000);
const auth = 'Basic ' + Buffer.from(`${login}:${password}`).toString('base64');

async function get(url, withAuth = true, extra = {}) {
  const headers = { accept: 'application/fhir+json', ...extra };
  if (withAuth) headers.authorization = auth;
  const resp = await fetch(url, { headers });
  return { status: resp.status, body: await resp.json() };
}

const lines = [];
const counts = {};
const meta = await get(`${base}/metadata`, false);
if (meta.status !== 200) throw new Error(`metadata: HTTP ${meta.status}`);
lines.push(JSON.stringify(meta.body));
// Every page of a search, up to MAX_PER_TYPE entries; how many entries.
async function walk(first) {
  let url = first;
  let n = 0;
  while (url && n < maxPerType) {
    const page = await get(url);
    if (page.status !== 200) throw new Error(`${url}: HTTP ${page.status} ${JSON.stringify(page.body)}`);
    lines.push(JSON.stringify(page.body));
    n += (page.body.entry ?? []).length;
    url = (page.body.link ?? []).find((l) => l.relation === 'next')?.url;
  }
  return n;
}
for (const r of meta.body.rest[0].resource) {
  counts[r.type] = await walk(`${base}/${r.type}?_count=200`);
}
// Searches whose results the per-type walk may not reach (it stops at MAX_PER_TYPE):
// every kind of Observation besides the lab results.
for (const q of ['category=vital-signs', 'category=exam', 'category=survey', 'code=http://loinc.org|']) {
  counts[`Observation?${q}`] = await walk(`${base}/Observation?${q}&_count=200`);
}
for (const r of meta.body.rest[0].resource) {
  for (const q of ['_summary=true', '_summary=text', '_summary=count', '_elements=id']) {
    const page = await get(`${base}/${r.type}?${q}&_count=50`);
    if (page.status !== 200) throw new Error(`${r.type}?${q}: HTTP ${page.status}`);
    lines.push(JSON.stringify(page.body));
  }
}
// Patient/[id]/$everything of the first patients, every page; one with an outcome entry
// (an unknown parameter ignored under lenient handling).
const firstPatients = (await get(`${base}/Patient?_count=5`)).body.entry ?? [];
for (const e of firstPatients) {
  let url = `${base}/Patient/${e.resource.id}/$everything?_count=50`;
  while (url) {
    const page = await get(url);
    if (page.status !== 200) throw new Error(`${url}: HTTP ${page.status} ${JSON.stringify(page.body)}`);
    lines.push(JSON.stringify(page.body));
    counts.everything = (counts.everything ?? 0) + (page.body.entry ?? []).length;
    url = (page.body.link ?? []).find((l) => l.relation === 'next')?.url;
  }
}
if (firstPatients.length > 0) {
  const id = firstPatients[0].resource.id;
  const lenient = await get(`${base}/Patient/${id}/$everything?_count=5&no-such-parameter=1`, true,
    { prefer: 'handling=lenient' });
  if (lenient.status !== 200) throw new Error(`$everything lenient: HTTP ${lenient.status}`);
  lines.push(JSON.stringify(lenient.body));
  lines.push(JSON.stringify((await get(`${base}/Patient/${id}/$everything?_summary=count`)).body));
}
for (const path of ['/Patient/0', '/Patient?no-such-parameter=1', '/NoSuchType']) {
  lines.push(JSON.stringify((await get(`${base}${path}`)).body));
}
lines.push(JSON.stringify((await get(`${base}/Patient`, false)).body));
writeFileSync(out, lines.join('\n') + '\n');
console.log(`dumped ${Object.entries(counts).map(([t, n]) => `${t}=${n}`).join(' ')}`);
