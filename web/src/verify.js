// Checks, in the patient's own browser, that each entry of their access log is in the audit log
// the node signed: the signed checkpoint verifies against the log's public key (Ed25519, C2SP
// signed note), and each entry's inclusion proof (RFC 9162) leads from the entry to that
// checkpoint's root. An entry that passes cannot have been changed or dropped from the log
// without the signed checkpoint, which witnesses also hold, showing it.

import { fromBase64 } from './base64.js';

const encoder = new TextEncoder();

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

const equal = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

// RFC 9162 section 2.1.3.2, with plain arithmetic (indices can pass 2^31).
export async function rootFromInclusionProof(index, size, leafHash, proof) {
  if (index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(concat(Uint8Array.of(1), p, r));
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await sha256(concat(Uint8Array.of(1), r, p));
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

// The checkpoint's size and root when its signature verifies against `verifierKey`
// ("<name>+<hash>+<base64(0x01 || key)>"), else null.
export async function verifiedCheckpoint(note, verifierKey) {
  // The key's base64 may itself hold '+': only the first two separate fields.
  const [name, hashHex, ...rest] = verifierKey.trim().split('+');
  const keyText = rest.join('+');
  const keyBytes = fromBase64(keyText || '');
  if (keyBytes.length !== 33 || keyBytes[0] !== 1) return null;
  const split = note.indexOf('\n\n');
  if (split < 0) return null;
  const text = note.slice(0, split + 1);
  const [, sizeLine, rootLine] = text.split('\n');
  for (const line of note.slice(split + 2).split('\n')) {
    const match = line.match(/^\u2014 (\S+) (\S+)$/);
    if (!match || match[1] !== name) continue;
    const signature = fromBase64(match[2]);
    const lineHash = [...signature.slice(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join('');
    if (lineHash !== hashHex || signature.length !== 68) continue;
    try {
      const key = await crypto.subtle.importKey('raw', keyBytes.slice(1), { name: 'Ed25519' }, false, ['verify']);
      if (await crypto.subtle.verify({ name: 'Ed25519' }, key, signature.slice(4), encoder.encode(text))) {
        return { size: Number(sizeLine), root: fromBase64(rootLine) };
      }
    } catch {
      return null;
    }
  }
  return null;
}

const INCLUSION = 'https://kavach.health/fhir/StructureDefinition/audit-log-inclusion';
export const CHECKPOINT = 'https://kavach.health/fhir/StructureDefinition/audit-log-checkpoint';

// 'verified', 'pending' (not yet in a checkpoint) or 'failed' for one AuditEvent.
export async function inclusionStatus(event, checkpoint) {
  const extension = (event.extension || []).find((e) => e.url === INCLUSION);
  if (!extension) return 'pending';
  if (!checkpoint) return 'failed';
  const parts = extension.extension || [];
  const value = (url) => parts.find((p) => p.url === url);
  const entry = fromBase64(value('entry')?.valueBase64Binary || '');
  const index = Number(value('index')?.valueString);
  const size = Number(value('treeSize')?.valueString);
  const proof = parts.filter((p) => p.url === 'proof').map((p) => fromBase64(p.valueBase64Binary));
  if (size !== checkpoint.size) return 'failed';
  const leaf = await sha256(concat(Uint8Array.of(0), entry));
  const root = await rootFromInclusionProof(index, size, leaf, proof);
  return root && equal(root, checkpoint.root) ? 'verified' : 'failed';
}
