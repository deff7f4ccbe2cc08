// Fidelius, ABDM's encryption of the data push (../shared/reference/abdm.md, and
// src/exchange/fidelius.h for the server's side), in the patient's own browser: a patient's
// records travel from their hospitals to this page encrypted for a key that exists only here, so
// the consent manager that relays them never holds anything readable.
//
// WebCrypto offers X25519, but Fidelius's curve is Curve25519 written in short-Weierstrass form
// with unclamped scalars (BouncyCastle's "curve25519"), which X25519 does not compute, so the point
// arithmetic is here, on BigInt; HKDF-SHA256 and AES-256-GCM are WebCrypto's. BigInt arithmetic is
// not constant-time: the key pair is made for one records request, lives only in this page's
// memory and is dropped with it, so a timing attacker would have to be on the patient's own
// device while the page decrypts. Peer keys are checked to be points of the curve's prime-order
// subgroup, as the server does, so a crafted key cannot leak bits of ours.

import { fromBase64, toBase64 } from './base64.js';

const HEX = {
  p: '7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed',
  a: '2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa984914a144',
  b: '7b425ed097b425ed097b425ed097b425ed097b425ed097b4260b5e9c7710c864',
  gx: '2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaad245a',
  gy: '20ae19a1b8a086b4e01edd2c7748d14c923d4d7e6d7c61b229e9c5a27eced3d9',
  n: '1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed',
};
const P = BigInt(`0x${HEX.p}`);
const A = BigInt(`0x${HEX.a}`);
const B = BigInt(`0x${HEX.b}`);
const N = BigInt(`0x${HEX.n}`);
const G = { x: BigInt(`0x${HEX.gx}`), y: BigInt(`0x${HEX.gy}`), z: 1n };
const INFINITY = { x: 1n, y: 1n, z: 0n };

// X.509 SubjectPublicKeyInfo with the explicit curve, up to the point: the same 244 bytes for
// every key (some HIPs send keys this way).
const X509_PREFIX = hexBytes(
  `308201313081ea06072a8648ce3d02013081de020101302b06072a8648ce3d01010220${HEX.p}30440420${HEX.a}` +
    `0420${HEX.b}044104${HEX.gx}${HEX.gy}0220${HEX.n}020108034200`,
);

function hexBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const toBigInt = (bytes) => bytes.reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);

function toBytes32(value) {
  const out = new Uint8Array(32);
  for (let i = 31, v = value; i >= 0; i -= 1, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

const mod = (v) => {
  const r = v % P;
  return r < 0n ? r + P : r;
};

function power(base, exponent) {
  let result = 1n;
  let b = mod(base);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}

// Jacobian coordinates (x/z^2, y/z^3): one inversion per scalar multiplication, not per step.
function double(p) {
  if (p.z === 0n || p.y === 0n) return INFINITY;
  const xx = (p.x * p.x) % P;
  const yy = (p.y * p.y) % P;
  const zz = (p.z * p.z) % P;
  const s = (4n * p.x * yy) % P;
  const m = mod(3n * xx + A * ((zz * zz) % P));
  const x = mod(m * m - 2n * s);
  return { x, y: mod(m * (s - x) - 8n * ((yy * yy) % P)), z: (2n * p.y * p.z) % P };
}

function add(p, q) {
  if (p.z === 0n) return q;
  if (q.z === 0n) return p;
  const pz2 = (p.z * p.z) % P;
  const qz2 = (q.z * q.z) % P;
  const u1 = (p.x * qz2) % P;
  const u2 = (q.x * pz2) % P;
  const s1 = (((p.y * qz2) % P) * q.z) % P;
  const s2 = (((q.y * pz2) % P) * p.z) % P;
  if (u1 === u2) return s1 === s2 ? double(p) : INFINITY;
  const h = mod(u2 - u1);
  const r = mod(s2 - s1);
  const hh = (h * h) % P;
  const hhh = (hh * h) % P;
  const v = (u1 * hh) % P;
  const x = mod(r * r - hhh - 2n * v);
  return { x, y: mod(r * (v - x) - s1 * hhh), z: (((h * p.z) % P) * q.z) % P };
}

// A Montgomery ladder: the same steps for every bit of the scalar.
function multiply(scalar, point) {
  let r0 = INFINITY;
  let r1 = point;
  for (let bit = 255n; bit >= 0n; bit -= 1n) {
    if ((scalar >> bit) & 1n) {
      r0 = add(r0, r1);
      r1 = double(r1);
    } else {
      r1 = add(r0, r1);
      r0 = double(r0);
    }
  }
  return r0;
}

function affine(point) {
  if (point.z === 0n) return null;
  const zi = power(point.z, P - 2n);
  const zi2 = (zi * zi) % P;
  return { x: (point.x * zi2) % P, y: (((point.y * zi2) % P) * zi) % P };
}

export class FideliusError extends Error {}

// A peer's public key, raw (04 || X || Y) or X.509, in base64; throws FideliusError for anything
// that is not a point of the curve's prime-order subgroup.
export function parsePublicKey(base64) {
  let bytes;
  try {
    bytes = fromBase64(base64);
  } catch {
    throw new FideliusError('the public key is not base64');
  }
  if (bytes.length === X509_PREFIX.length + 65 && X509_PREFIX.every((b, i) => bytes[i] === b)) {
    bytes = bytes.slice(X509_PREFIX.length);
  }
  if (bytes.length !== 65 || bytes[0] !== 4) throw new FideliusError('the public key is not an uncompressed point');
  const x = toBigInt(bytes.slice(1, 33));
  const y = toBigInt(bytes.slice(33));
  if (x >= P || y >= P || mod(y * y - (x * x * x + A * x + B)) !== 0n) {
    throw new FideliusError('the public key is not a point of the curve');
  }
  const point = { x, y, z: 1n };
  if (multiply(N, point).z !== 0n) throw new FideliusError("the public key is outside the curve's subgroup");
  return point;
}

function encodePoint(point) {
  const { x, y } = affine(point);
  const out = new Uint8Array(65);
  out[0] = 4;
  out.set(toBytes32(x), 1);
  out.set(toBytes32(y), 33);
  return toBase64(out);
}

// A Java BigInteger's bytes in base64 (32, or 33 with a leading zero), as ABDM's tools write it.
export function parsePrivateKey(base64) {
  const scalar = toBigInt(fromBase64(base64));
  if (scalar <= 0n || scalar >= N) throw new FideliusError('a private key is a scalar from 1 to n - 1');
  return scalar;
}

export function publicKeyOf(privateKey) {
  return encodePoint(multiply(privateKey, G));
}

function randomBytes(count) {
  return crypto.getRandomValues(new Uint8Array(count));
}

// A fresh key pair and nonce for one request; keyValue and nonce as keyMaterial carries them.
export function generateKeyMaterial() {
  let scalar = 0n;
  while (scalar === 0n || scalar >= N) {
    const bytes = randomBytes(32);
    bytes[0] &= 0x1f; // n is just over 2^252: at most two draws on average
    scalar = toBigInt(bytes);
  }
  return { privateKey: scalar, publicKey: publicKeyOf(scalar), nonce: toBase64(randomBytes(32)) };
}

// The x-coordinate of ownPrivate * peerPublic, 32 bytes big-endian with its leading zeros.
export function sharedSecret(ownPrivate, peerPublic) {
  const shared = affine(multiply(ownPrivate, peerPublic));
  if (!shared) throw new FideliusError('the shared point is at infinity');
  return toBytes32(shared.x);
}

// Decrypts one entry's content (base64 of ciphertext || tag) pushed under `peerKey` and
// `peerNonce` for the key pair `own`; throws FideliusError when it does not authenticate.
export async function decrypt(own, peerKey, peerNonce, contentBase64) {
  const secret = sharedSecret(own.privateKey, parsePublicKey(peerKey));
  const mine = fromBase64(own.nonce);
  const theirs = fromBase64(peerNonce);
  if (mine.length !== 32 || theirs.length !== 32) throw new FideliusError('a nonce is 32 bytes');
  const mixed = mine.map((b, i) => b ^ theirs[i]);
  const material = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveKey']);
  const key = await crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: mixed.slice(0, 20), info: new Uint8Array(0) },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['decrypt'],
  );
  try {
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: mixed.slice(20) }, key, fromBase64(contentBase64));
    return new TextDecoder('utf-8', { fatal: true }).decode(plain);
  } catch {
    throw new FideliusError('the content does not decrypt with these keys');
  }
}
