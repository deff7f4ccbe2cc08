// ABDM conformance with an off-the-shelf JSON Schema validator (Ajv) over ABDM's own v0.5
// OpenAPI files (abdm/ndhm-hip.yml, abdm/ndhm-hiu.yml).
//
//   node abdm_conformance.mjs validate MESSAGES.jsonl
//     Each line is {"path": "/v0.5/...", "body": {...}}, a message a Kavach node sent. Each body
//     must validate against the request schema both specs give for that path (a path in neither
//     spec is reported as unknown). Exits 1 and lists every violation if any message fails.
//   node abdm_conformance.mjs examples OUTDIR
//     Writes one example message per path, built from the specs' own `example` values, as
//     OUTDIR/<path with / as _>.json (tests/conformance/examples holds them, for the C++ test that
//     feeds each to the Kavach receiver of that path).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const here = path.dirname(fileURLToPath(import.meta.url));
const specs = ["ndhm-hip.yml", "ndhm-hiu.yml"].map((name) => ({
  name,
  doc: YAML.parse(fs.readFileSync(path.join(here, "abdm", name), "utf8")),
}));

// OpenAPI 3.0 schema objects are JSON Schema with a few extra words (example, xml, nullable);
// `#/components/schemas/X` references become Ajv references to each spec's own components.
function toJsonSchema(schema) {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (schema === null || typeof schema !== "object") return schema;
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "example" || key === "xml") continue;
    if (key === "nullable") continue;
    out[key] = key === "properties"
      ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonSchema(v)]))
      : toJsonSchema(value);
  }
  if (schema.nullable && out.type) out.type = [out.type, "null"];
  return out;
}

function requestSchemas() {
  const byPath = new Map();  // path -> [{spec, schema}]
  for (const { name, doc } of specs) {
    for (const [route, item] of Object.entries(doc.paths ?? {})) {
      const schema = item.post?.requestBody?.content?.["application/json"]?.schema;
      if (!schema) continue;
      if (!byPath.has(route)) byPath.set(route, []);
      byPath.get(route).push({ spec: name, schema });
    }
  }
  return byPath;
}

function validator() {
  // strict: false lets the specs' informal formats ("32 byte string") pass as annotations.
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  for (const { name, doc } of specs) {
    // Registered as the document it is, so its own "#/components/schemas/X" references resolve.
    const schemas = toJsonSchema(doc.components?.schemas ?? {});
    ajv.addSchema({ $id: name, components: { schemas } });
  }
  return ajv;
}

function resolveRef(specName, schema) {
  return JSON.parse(JSON.stringify(toJsonSchema(schema)).replaceAll(
    '"$ref":"#/components/schemas/', `"$ref":"${specName}#/components/schemas/`));
}

function validate(file) {
  const ajv = validator();
  const byPath = requestSchemas();
  const failures = [];
  let checked = 0;
  let failed = 0;
  const lines = fs.readFileSync(file, "utf8").split("\n").filter((line) => line.trim());
  for (const line of lines) {
    const { path: route, body } = JSON.parse(line);
    const candidates = byPath.get(route);
    checked += 1;
    const before = failures.length;
    if (!candidates) failures.push(`${route}: no ABDM schema for this path`);
    for (const { spec, schema } of candidates ?? []) {
      const check = ajv.compile(resolveRef(spec, schema));
      if (!check(body)) {
        failures.push(`${route} (${spec}): ${ajv.errorsText(check.errors)}\n  ${JSON.stringify(body).slice(0, 400)}`);
      }
    }
    if (failures.length > before) failed += 1;
  }
  if (failures.length) {
    console.error(failures.join("\n"));
    console.error(`${failed} of ${checked} messages do not conform`);
    process.exit(1);
  }
  console.log(`${checked} messages conform to the ABDM v0.5 schemas`);
}

// A message built from a schema's own `example` values; where the spec gives none, an empty
// string (or 0, false, one array item), which the tests that use these fill in and say so.
function example(specName, schema, depth = 0) {
  const doc = specs.find((s) => s.name === specName).doc;
  if (schema.$ref) {
    return example(specName, doc.components.schemas[schema.$ref.split("/").pop()], depth + 1);
  }
  if (schema.example !== undefined && schema.type !== "object") return schema.example;
  if (schema.enum) return schema.enum[0];
  if (schema.allOf) {
    const parts = schema.allOf.map((part) => example(specName, part, depth + 1));
    const objects = parts.filter((part) => part && typeof part === "object" && !Array.isArray(part));
    return objects.length ? Object.assign({}, ...objects) : parts[0];
  }
  if (schema.anyOf || schema.oneOf) return example(specName, (schema.anyOf ?? schema.oneOf)[0], depth + 1);
  if (schema.type === "object" || schema.properties) {
    const out = {};
    for (const [key, value] of Object.entries(schema.properties ?? {})) {
      if (depth < 12) out[key] = example(specName, value, depth + 1);
    }
    return out;
  }
  if (schema.type === "array") return depth < 12 ? [example(specName, schema.items ?? {}, depth + 1)] : [];
  if (schema.type === "integer" || schema.type === "number") return 0;
  if (schema.type === "boolean") return false;
  return "";
}

// The example message of every request schema the specs define, one file per path.
function examples(outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  for (const [route, candidates] of [...requestSchemas()].sort()) {
    const { spec, schema } = candidates[0];
    const file = path.join(outDir, route.replace(/^\//, "").replaceAll("/", "_") + ".json");
    fs.writeFileSync(file, JSON.stringify(example(spec, schema), null, 2) + "\n");
  }
}

const [mode, target] = process.argv.slice(2);
if (mode === "validate" && target) validate(target);
else if (mode === "examples" && target) examples(target);
else {
  console.error("usage: node abdm_conformance.mjs validate MESSAGES.jsonl | examples OUTDIR");
  process.exit(2);
}
