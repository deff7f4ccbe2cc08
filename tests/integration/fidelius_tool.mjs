// The web app's Fidelius (web/src/fidelius.js) for the integration tests, which play the
// patient's browser: `generate` prints a fresh key pair and nonce as JSON; `open` reads
// {privateKey, nonce, pages} as JSON on stdin and prints the decrypted text of every entry.
import { toBase64 } from '../../web/src/base64.js';
import { decrypt, generateKeyMaterial, parsePrivateKey } from '../../web/src/fidelius.js';

const command = process.argv[2];
if (command === 'generate') {
  const key = generateKeyMaterial();
  const hex = key.privateKey.toString(16).padStart(64, '0');
  const scalar = Uint8Array.from(hex.match(/../g).map((byte) => parseInt(byte, 16)));
  console.log(JSON.stringify({ privateKey: toBase64(scalar), publicKey: key.publicKey, nonce: key.nonce }));
} else if (command === 'open') {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const { privateKey, nonce, pages } = JSON.parse(input);
  const own = { privateKey: parsePrivateKey(privateKey), nonce };
  const texts = [];
  for (const page of pages) {
    for (const entry of page.entries) {
      texts.push(await decrypt(own, page.keyMaterial.dhPublicKey.keyValue, page.keyMaterial.nonce, entry.content));
    }
  }
  console.log(JSON.stringify(texts));
} else {
  console.error('usage: fidelius_tool.mjs generate | open < {privateKey, nonce, pages}');
  process.exit(2);
}
