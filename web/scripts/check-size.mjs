// Prints the compressed size of what a first visit to /app/ downloads (the page, its script and
// its style sheet, as gzip) and fails above the budget: 200 KB on a slow 3G connection.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = process.argv[2] || process.env.KAVACH_WEB_OUT || 'dist';
const budget = 200 * 1024;
const html = readFileSync(join(root, 'index.html'), 'utf8');
const linked = [...html.matchAll(/(?:src|href)="\/app\/([^"]+)"/g)].map((m) => m[1]);
let total = 0;
for (const file of ['index.html', ...linked]) {
  const path = join(root, file);
  if (!existsSync(path)) continue;
  const size = existsSync(`${path}.gz`) ? readFileSync(`${path}.gz`).length : gzipSync(readFileSync(path)).length;
  total += size;
  console.log(`${file}: ${size} bytes gzip`);
}
console.log(`first load: ${total} bytes gzip (budget ${budget})`);
if (total > budget) process.exit(1);
