#!/usr/bin/env node
// Writes a benchmark corpus built from the good fixtures, for timing validate.mjs:
//   node tests/validator/bench.mjs OUTDIR [COUNT]
// creates OUTDIR/files/*.json (COUNT single resources), OUTDIR/all.ndjson (the
// same COUNT resources) and OUTDIR/bundles/*.json (searchset Bundles of 50
// entries holding about COUNT resources in all). Then, e.g.:
//   time node tests/validator/validate.mjs OUTDIR/files/*.json
//   time node tests/validator/validate.mjs < OUTDIR/all.ndjson
//   time node tests/validator/validate.mjs OUTDIR/bundles/*.json
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [outDir, countArg] = process.argv.slice(2);
if (!outDir) {
  process.stderr.write('usage: bench.mjs OUTDIR [COUNT]\n');
  process.exit(2);
}
const count = Number(countArg ?? 1000);
const good = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'good');
const load = (f) => JSON.parse(readFileSync(join(good, f), 'utf8'));
const templates = [load('patient.json'), load('condition.json'), load('observation.json')];

const resources = [];
for (let i = 0; i < count; i++) {
  const r = structuredClone(templates[i % templates.length]);
  r.id = `${r.id}-${i}`;
  resources.push(r);
}

mkdirSync(join(outDir, 'files'), { recursive: true });
mkdirSync(join(outDir, 'bundles'), { recursive: true });
resources.forEach((r, i) => writeFileSync(join(outDir, 'files', `r${String(i).padStart(5, '0')}.json`), JSON.stringify(r, null, 2)));
writeFileSync(join(outDir, 'all.ndjson'), resources.map((r) => JSON.stringify(r)).join('\n') + '\n');

const perBundle = 50;
for (let b = 0; b * perBundle < count; b++) {
  const entries = resources.slice(b * perBundle, (b + 1) * perBundle);
  const bundle = {
    resourceType: 'Bundle',
    id: `bench-${b}`,
    type: 'searchset',
    total: count,
    link: [{ relation: 'self', url: `https://fhir.example.org/r4/Patient?_count=${perBundle}&_offset=${b * perBundle}` }],
    entry: entries.map((r) => ({
      fullUrl: `https://fhir.example.org/r4/${r.resourceType}/${r.id}`,
      resource: r,
      search: { mode: 'match' },
    })),
  };
  writeFileSync(join(outDir, 'bundles', `b${String(b).padStart(3, '0')}.json`), JSON.stringify(bundle));
}
process.stdout.write(`wrote ${count} resources to ${outDir}\n`);
