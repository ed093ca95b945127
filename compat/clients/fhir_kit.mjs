// fhir-kit-client (npm), unchanged, against the server: a bearer token from
// POST /auth/token, the CapabilityStatement, a read, a search walked through its next
// links (compared with the total), and _include. Exits non-zero on the first failure.
// Environment: FHIR_BASE, FHIR_USER, FHIR_PASSWORD.
import assert from 'node:assert/strict';
import { Client } from 'fhir-kit-client';

const base = process.env.FHIR_BASE;
const signIn = await fetch(`${base}/auth/token`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ login: process.env.FHIR_USER, password: process.env.FHIR_PASSWORD }),
});
assert.equal(signIn.status, 200);
const token = (await signIn.json()).access_token;
const client = new Client({ baseUrl: base, customHeaders: { Authorization: `Bearer ${token}` } });

const capability = await client.capabilityStatement();
assert.equal(capability.fhirVersion, '4.0.1');

let bundle = await client.search({ resourceType: 'Patient', searchParams: { gender: 'female', _count: 7 } });
const total = bundle.total;
const ids = [];
for (; bundle; bundle = await client.nextPage({ bundle })) {
  ids.push(...bundle.entry.map((e) => e.resource.id));
}
assert.ok(total > 7);
assert.equal(ids.length, total);
assert.equal(new Set(ids).size, total);

const patient = await client.read({ resourceType: 'Patient', id: ids[0] });
assert.equal(patient.id, ids[0]);

const observations = await client.search({ resourceType: 'Observation', searchParams: { _count: 1 } });
const subject = observations.entry[0].resource.subject.reference.split('/')[1];
const included = await client.search({
  resourceType: 'Observation',
  searchParams: { patient: subject, _count: 5, _include: 'Observation:subject' },
});
const includes = included.entry.filter((e) => e.search.mode === 'include');
assert.deepEqual(includes.map((e) => `${e.resource.resourceType}/${e.resource.id}`), [`Patient/${subject}`]);
console.log(`fhir-kit-client: read, ${ids.length} Patients over ${Math.ceil(total / 7)} pages, _include: ok`);
