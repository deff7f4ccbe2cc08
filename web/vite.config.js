// Builds the web app into KAVACH_WEB_OUT (CMake passes <build>/app; the node serves it at /app/),
// with a gzip twin of each text file that the node sends to browsers accepting gzip.
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, constants } from 'node:zlib';
import { defineConfig } from 'vite';

const outDir = process.env.KAVACH_WEB_OUT || 'dist';

function gzipTwins() {
  return {
    name: 'kavach-gzip-twins',
    apply: 'build',
    closeBundle() {
      const walk = (dir) => {
        for (const name of readdirSync(dir)) {
          const path = join(dir, name);
          if (statSync(path).isDirectory()) walk(path);
          else if (/\.(html|js|css|json|svg|webmanifest)$/.test(name)) {
            writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: constants.Z_BEST_COMPRESSION }));
          }
        }
      };
      walk(outDir);
    },
  };
}

export default defineConfig({
  base: '/app/',
  build: { outDir, emptyOutDir: true, target: 'es2020', sourcemap: false, assetsInlineLimit: 0 },
  plugins: [gzipTwins()],
});
