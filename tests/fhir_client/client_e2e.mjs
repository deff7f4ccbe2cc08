// An off-the-shelf FHIR client (fhir-kit-client, from npm, unchanged) against a running node:
// capability statement, create, read, vread, update with a version check, patch, search with
// paging through the server's next links, a transaction with urn:uuid references, history and
// delete. Usage: KAVACH_FHIR_BASE=http://127.0.0.1:PORT/fhir/R4 KAVACH_TOKEN=... node client_e2e.mjs
import assert from 'node:assert/strict';
import { Client } from 'fhir-kit-client';

const client = new Client({
  baseUrl: process.env.KAVACH_FHIR_BASE,
  bearerToken: process.env.KAVACH_TOKEN,
});

const step = (name) => console.log(`fhir-kit-client: ${name}`);

step('capability statement');
const statement = await client.capabilityStatement();
assert.equal(statement.resourceType, 'CapabilityStatement');
assert.equal(statement.fhirVersion, '4.0.1');

step('create and read');
const patient = await client.create({
  resourceType: 'Patient',
  body: {
    resourceType: 'Patient',
    name: [{ family: 'Kitclient', given: ['Kavya'] }],
    gender: 'female',
    birthDate: '1994-08-15',
    identifier: [{ system: 'urn:kavach-e2e', value: 'kit-1' }],
  },
});
assert.ok(patient.id, 'the server assigns an id');
assert.equal(patient.meta.versionId, '1');
const read = await client.read({ resourceType: 'Patient', id: patient.id });
assert.equal(read.name[0].family, 'Kitclient');

step('update, with a stale version refused');
read.telecom = [{ system: 'phone', value: '+91 90000 00001' }];
const updated = await client.update({ resourceType: 'Patient', id: patient.id, body: read });
assert.equal(updated.meta.versionId, '2');
await assert.rejects(
  client.update({
    resourceType: 'Patient',
    id: patient.id,
    body: read,
    options: { headers: { 'If-Match': 'W/"1"' } },
  }),
  (error) => error.response?.status === 412,
);
const first = await client.vread({ resourceType: 'Patient', id: patient.id, version: '1' });
assert.equal(first.telecom, undefined);

step('patch');
const patched = await client.patch({
  resourceType: 'Patient',
  id: patient.id,
  jsonPatch: [{ op: 'replace', path: '/gender', value: 'other' }],
});
assert.equal(patched.gender, 'other');

step('transaction with urn:uuid references');
const encounterUrn = 'urn:uuid:0b1f6d7e-61a3-4c57-9a51-0c2b5b0f7e11';
const entries = [
  {
    fullUrl: encounterUrn,
    resource: {
      resourceType: 'Encounter',
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject: { reference: `Patient/${patient.id}` },
      period: { start: '2024-05-01T09:00:00+05:30', end: '2024-05-01T09:30:00+05:30' },
    },
    request: { method: 'POST', url: 'Encounter' },
  },
];
for (let day = 1; day <= 7; day += 1) {
  entries.push({
    resource: {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
      subject: { reference: `Patient/${patient.id}` },
      encounter: { reference: encounterUrn },
      effectiveDateTime: `2024-05-0${day}T08:00:00+05:30`,
      valueQuantity: { value: 70 + day, unit: '/min' },
    },
    request: { method: 'POST', url: 'Observation' },
  });
}
const response = await client.transaction({
  body: { resourceType: 'Bundle', type: 'transaction', entry: entries },
});
assert.equal(response.type, 'transaction-response');
assert.equal(response.entry.length, 8);
for (const entry of response.entry) assert.match(entry.response.status, /^201/);

step('search, paging through next links');
let page = await client.search({
  resourceType: 'Observation',
  searchParams: { subject: `Patient/${patient.id}`, code: 'http://loinc.org|8867-4', _count: 3, _sort: 'date' },
});
const dates = [];
for (;;) {
  assert.equal(page.type, 'searchset');
  for (const entry of page.entry ?? []) {
    dates.push(entry.resource.effectiveDateTime);
    assert.ok(entry.resource.encounter.reference.startsWith('Encounter/'), 'urn:uuid resolved');
  }
  const next = await client.nextPage({ bundle: page });
  if (!next) break;
  page = next;
}
assert.equal(dates.length, 7);
assert.deepEqual(dates, [...dates].sort());

step('search by token, string and date');
const byIdentifier = await client.search({
  resourceType: 'Patient',
  searchParams: { identifier: 'urn:kavach-e2e|kit-1' },
});
assert.equal(byIdentifier.entry.length, 1);
const byName = await client.search({ resourceType: 'Patient', searchParams: { family: 'kitcl' } });
assert.equal(byName.entry[0].resource.id, patient.id);
const week = await client.search({
  resourceType: 'Observation',
  searchParams: { patient: patient.id, date: ['ge2024-05-03', 'lt2024-05-05'], _total: 'accurate' },
});
assert.equal(week.total, 2);

step('history and delete');
const history = await client.history({ resourceType: 'Patient', id: patient.id });
assert.equal(history.type, 'history');
assert.equal(history.entry.length, 3);
await client.delete({ resourceType: 'Patient', id: patient.id });
await assert.rejects(
  client.read({ resourceType: 'Patient', id: patient.id }),
  (error) => error.response?.status === 410,
);
step('all passed');
