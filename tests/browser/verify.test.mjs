// The web app's own check of a patient's access log (web/src/verify.js), run under Node (which
// has the same WebCrypto): RFC 9162 inclusion proofs against the transparency-dev vectors the C++
// audit tests use, and signed checkpoints from the C++ signer's own test, whole and tampered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inclusionStatus, rootFromInclusionProof, verifiedCheckpoint } from '../../web/src/verify.js';

const here = dirname(fileURLToPath(import.meta.url));
const vectors = resolve(here, '..', 'audit', 'merkle_vectors', 'inclusion');
const bytes = (base64) => new Uint8Array(Buffer.from(base64 || '', 'base64'));
const equal = (a, b) => a && b && a.length === b.length && a.every((v, i) => v === b[i]);

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (name.endsWith('.json')) yield path;
  }
}

test('inclusion proofs: every RFC 9162 vector accepted or refused as it should be', async () => {
  let checked = 0;
  for (const path of files(vectors)) {
    const vector = JSON.parse(readFileSync(path, 'utf8'));
    const root = await rootFromInclusionProof(vector.leafIdx, vector.treeSize, bytes(vector.leafHash),
      (vector.proof || []).map(bytes));
    const accepted = Boolean(root) && equal(root, bytes(vector.root)) && bytes(vector.leafHash).length === 32;
    assert.equal(accepted, !vector.wantErr, path);
    checked += 1;
  }
  assert.ok(checked > 90, `only ${checked} vectors`);
});

// A two-entry log made by hand: leaves SHA-256(0x00 || entry), root SHA-256(0x01 || l0 || l1).
async function twoEntryLog() {
  const sha = async (...parts) => new Uint8Array(await crypto.subtle.digest('SHA-256', Buffer.concat(parts.map((p) => Buffer.from(p)))));
  const entries = [Buffer.from('first entry'), Buffer.from('second entry')];
  const leaves = [await sha([0], entries[0]), await sha([0], entries[1])];
  const root = await sha([1], leaves[0], leaves[1]);
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  const name = 'kavach/test';
  const keyHash = (await sha(`${name}\n`, [1], publicKey)).slice(0, 4);
  const hex = Buffer.from(keyHash).toString('hex');
  const verifierKey = `${name}+${hex}+${Buffer.concat([Buffer.from([1]), publicKey]).toString('base64')}`;
  const text = `${name}\n2\n${Buffer.from(root).toString('base64')}\n`;
  const signature = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, pair.privateKey, Buffer.from(text)));
  const note = `${text}\n\u2014 ${name} ${Buffer.concat([keyHash, signature]).toString('base64')}\n`;
  const event = (index, proof, entry = entries[index]) => ({
    extension: [{
      url: 'https://kavach.health/fhir/StructureDefinition/audit-log-inclusion',
      extension: [
        { url: 'entry', valueBase64Binary: entry.toString('base64') },
        { url: 'index', valueString: String(index) },
        { url: 'treeSize', valueString: '2' },
        { url: 'proof', valueBase64Binary: Buffer.from(proof).toString('base64') },
      ],
    }],
  });
  return { note, verifierKey, leaves, event };
}

test('a signed checkpoint verifies, and not once changed or under another key', async () => {
  const { note, verifierKey } = await twoEntryLog();
  const checkpoint = await verifiedCheckpoint(note, verifierKey);
  assert.equal(checkpoint?.size, 2);
  assert.equal(await verifiedCheckpoint(note.replace('\n2\n', '\n3\n'), verifierKey), null);
  const other = await twoEntryLog();
  assert.equal(await verifiedCheckpoint(note, other.verifierKey), null);
});

test("an access-log entry is verified, and a changed entry or a wrong proof is not", async () => {
  const { note, verifierKey, leaves, event } = await twoEntryLog();
  const checkpoint = await verifiedCheckpoint(note, verifierKey);
  assert.equal(await inclusionStatus(event(0, leaves[1]), checkpoint), 'verified');
  assert.equal(await inclusionStatus(event(1, leaves[0]), checkpoint), 'verified');
  assert.equal(await inclusionStatus(event(0, leaves[1], Buffer.from('first entrY')), checkpoint), 'failed');
  assert.equal(await inclusionStatus(event(0, leaves[0]), checkpoint), 'failed');
  assert.equal(await inclusionStatus(event(0, leaves[1]), null), 'failed');
  assert.equal(await inclusionStatus({}, checkpoint), 'pending');
});
