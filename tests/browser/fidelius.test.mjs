// The web app's Fidelius (web/src/fidelius.js), run under Node (which has the same WebCrypto):
// the three test vectors of ../shared/reference/abdm.md that the server's tests use
// (tests/exchange/fidelius_test.cc), keys in both encodings, and refusals of bad keys and
// changed ciphertext.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FideliusError, decrypt, generateKeyMaterial, parsePrivateKey, parsePublicKey, publicKeyOf, sharedSecret,
} from '../../web/src/fidelius.js';
import { toBase64 } from '../../web/src/base64.js';

const vector1 = {
  requesterPrivate: 'DMxHPri8d7IT23KgLk281zZenMfVHSdeamq0RhwlIBk=',
  requesterPublic: 'BAheD5rUqTy4V5xR4/6HWmYpopu5CO+KO8BECS0udNqUTSNo91TIqIIy1A4Vh+F94c+n9vAcwXU2bGcfsI5f69Y=',
  requesterNonce: '6uj1RdDUbcpI3lVMZvijkMC8Te20O4Bcyz0SyivX8Eg=',
  senderPrivate: 'AYhVZpbVeX4KS5Qm/W0+9Ye2q3rnVVGmqRICmseWni4=',
  senderPublic: 'BABVt+mpRLMXiQpIfEq6bj8hlXsdtXIxLsspmMgLNI1SR5mHgDVbjHO2A+U4QlMddGzqyEidzm1AkhtSxSO2Ahg=',
  senderNonce: 'lmXgblZwotx+DfBgKJF0lZXtAXgBEYr5khh79Zytr2Y=',
  plaintext: "Wormtail should never have been Potter cottage's secret keeper.",
  ciphertext: 'pzMvVZNNVtJzqPkkxcCbBUWgDEBy/mBXIeT2dJWI16ZAQnnXUb9lI+S4k8XK6mgZSKKSRIHkcNvJpllnBg548wUgavBa0vCRRwdL6kY6Yw==',
  shared: 'HZbc9a4h9kMAReILN5VtvbSYHWQpfIcrZ9pWHlQZUHs=',
};

const own = (privateKey, nonce) => ({ privateKey: parsePrivateKey(privateKey), nonce });

test('vector 1: public keys from private ones, the shared secret, and decryption from either side', async () => {
  assert.equal(publicKeyOf(parsePrivateKey(vector1.requesterPrivate)), vector1.requesterPublic);
  assert.equal(publicKeyOf(parsePrivateKey(vector1.senderPrivate)), vector1.senderPublic);
  const secret = sharedSecret(parsePrivateKey(vector1.requesterPrivate), parsePublicKey(vector1.senderPublic));
  assert.equal(toBase64(secret), vector1.shared);
  const requester = own(vector1.requesterPrivate, vector1.requesterNonce);
  assert.equal(await decrypt(requester, vector1.senderPublic, vector1.senderNonce, vector1.ciphertext), vector1.plaintext);
  const sender = own(vector1.senderPrivate, vector1.senderNonce);
  assert.equal(await decrypt(sender, vector1.requesterPublic, vector1.requesterNonce, vector1.ciphertext), vector1.plaintext);
});

test('vector 2: the reference HIU decryption test', async () => {
  const hiu = own('DrDDUf+HIXB59/ym4GxrM/TfeULHyiUVzHWkq9rFkJI=', 'pk5xT1Xk+KUlf/LC1LZawKECPNvOvIzhZNEyIdh7oJE=');
  const plain = await decrypt(hiu, 'BF+mRxuHRjpnXFxyTgPak0otDYPAs7Ej1s7azLzOVsnjf3XEmnBg0bZJOeY/1zDPT5XvgHeZtzKSXknWCxe0174=',
    'xXrM6PfCsBX0Q238uxZCP8YBpPXxsiZvbE++jX5GV5c=', 'cMTT+FiiDMVXdK1nbBXmnNXP2doSbWQ11Sl8rs1d5SzVDA==');
  assert.equal(plain, '"This is a string"');
});

test('vector 3: a shared secret with a leading zero byte stays 32 bytes', async () => {
  const requester = own('D5US863TZV0ZyFUpsyUUDGY3FlNiB3xpNZGL0w084BE=', 'kwO28YHtBkNPumD3tyVnATwIk/wLbNYsCntMDELEBos=');
  const senderPublic = 'BAhSBZFFLluI5hu3R9KkhihJ0Za/SDDZgcWgSV/ysNV4Y2ZXYW+VHu6AWgBlXwme5MlTAX5JfaaCrW4yEV1prf8=';
  const secret = sharedSecret(requester.privateKey, parsePublicKey(senderPublic));
  assert.equal(secret.length, 32);
  assert.equal(secret[0], 0);
  const plain = await decrypt(requester, senderPublic, 'FMOeI97JalXTtibvslVCDnH6MUUd7rYyYkxGgzL+6o4=',
    'tM4lK8AI1c366W0Wl87P+RENmFwJQXEmOIMz5UZP3IozS48jrvnyIhc=');
  assert.equal(plain, '{"resourceType":"Bundle"}');
});

test('an X.509 public key reads as the same point as its raw form', () => {
  const raw = Buffer.from(vector1.requesterPublic, 'base64');
  const prefix = Buffer.from(
    '308201313081ea06072a8648ce3d02013081de020101302b06072a8648ce3d01010220' +
      '7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed' +
      '30440420' +
      '2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa984914a144' +
      '0420' +
      '7b425ed097b425ed097b425ed097b425ed097b425ed097b4260b5e9c7710c864' +
      '044104' +
      '2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaad245a' +
      '20ae19a1b8a086b4e01edd2c7748d14c923d4d7e6d7c61b229e9c5a27eced3d9' +
      '0220' +
      '1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed' +
      '020108034200',
    'hex',
  );
  assert.equal(prefix.length, 244);
  assert.deepEqual(parsePublicKey(Buffer.concat([prefix, raw]).toString('base64')), parsePublicKey(vector1.requesterPublic));
});

test('keys off the curve, outside the subgroup or malformed are refused', () => {
  const raw = Buffer.from(vector1.requesterPublic, 'base64');
  const offCurve = Buffer.from(raw);
  offCurve[64] ^= 1;
  assert.throws(() => parsePublicKey(offCurve.toString('base64')), FideliusError);
  // The point of order 2 (Montgomery u = 0, so Weierstrass x = 486662/3, y = 0) is on the curve
  // but outside the prime-order subgroup.
  const p = 2n ** 255n - 19n;
  const third = (486662n * modInverse(3n, p)) % p;
  const orderTwo = Buffer.alloc(65);
  orderTwo[0] = 4;
  Buffer.from(third.toString(16).padStart(64, '0'), 'hex').copy(orderTwo, 1);
  assert.throws(() => parsePublicKey(orderTwo.toString('base64')), /subgroup/);
  assert.throws(() => parsePublicKey(raw.subarray(0, 33).toString('base64')), FideliusError);
  assert.throws(() => parsePrivateKey(Buffer.alloc(32).toString('base64')), FideliusError);
});

test('a changed ciphertext or a wrong nonce does not decrypt', async () => {
  const requester = own(vector1.requesterPrivate, vector1.requesterNonce);
  const changed = Buffer.from(vector1.ciphertext, 'base64');
  changed[3] ^= 0x40;
  await assert.rejects(decrypt(requester, vector1.senderPublic, vector1.senderNonce, changed.toString('base64')), FideliusError);
  await assert.rejects(decrypt(requester, vector1.senderPublic, vector1.requesterNonce, vector1.ciphertext), FideliusError);
});

test('generated key pairs agree on the shared secret and are fresh each time', () => {
  const first = generateKeyMaterial();
  const second = generateKeyMaterial();
  assert.notEqual(first.publicKey, second.publicKey);
  assert.notEqual(first.nonce, second.nonce);
  assert.deepEqual(sharedSecret(first.privateKey, parsePublicKey(second.publicKey)),
    sharedSecret(second.privateKey, parsePublicKey(first.publicKey)));
});

function modInverse(value, modulus) {
  let result = 1n;
  let base = value % modulus;
  for (let e = modulus - 2n; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * base) % modulus;
    base = (base * base) % modulus;
  }
  return result;
}
