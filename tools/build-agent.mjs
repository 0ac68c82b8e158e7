// Builds the agent as one file (esbuild) and as a single executable (Node SEA): dist/agent/soc-agent.
// Usage: node tools/build-agent.mjs [--bundle-only]. Uses the running node binary; downloads nothing.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'agent');
const bundle = join(out, 'soc-agent.cjs');
const seaMain = join(out, 'soc-agent.sea.cjs');
const blob = join(out, 'soc-agent.blob');
const exe = join(out, process.platform === 'win32' ? 'soc-agent.exe' : 'soc-agent');
// The fuse every Node binary that supports single executable applications carries (node/src/node_sea.cc).
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

if (!existsSync(join(root, 'proto', 'gen', 'minisoc.js'))) {
  console.error('build-agent: proto/gen/minisoc.js is missing: run `node tools/build-proto.mjs` (or `npm run build`) first');
  process.exit(1);
}
mkdirSync(out, { recursive: true });

// A single executable runs one CommonJS script that may require only node's built-in modules: bundle all.
const result = await build({
  entryPoints: [join(root, 'agent', 'main.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  keepNames: true,
  legalComments: 'eof',
  logLevel: 'warning',
  metafile: true,
});
const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;
console.log(`bundle ${relative(root, bundle)} (${mb(statSync(bundle).size)}, ${Object.keys(result.metafile.inputs).length} modules)`);
if (process.argv.includes('--bundle-only')) process.exit(0);

// The bundle keeps main.ts's #! line, which only a file run by a shell may start with.
writeFileSync(seaMain, readFileSync(bundle, 'utf8').replace(/^#![^\n]*\n/, ''));
const seaConfig = join(out, 'sea-config.json');
writeFileSync(seaConfig, JSON.stringify({ main: seaMain, output: blob, disableExperimentalSEAWarning: true }, null, 2));
execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: 'inherit' });

rmSync(exe, { force: true });
copyFileSync(process.execPath, exe);
chmodSync(exe, 0o755);
if (process.platform === 'darwin') execFileSync('codesign', ['--remove-signature', exe]);
const { inject } = createRequire(import.meta.url)('postject');
await inject(exe, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE, machoSegmentName: 'NODE_SEA' });
if (process.platform === 'darwin') execFileSync('codesign', ['--sign', '-', exe]);
rmSync(blob, { force: true });
rmSync(seaConfig, { force: true });
rmSync(seaMain, { force: true });
console.log(`executable ${relative(root, exe)} (${mb(statSync(exe).size)}, node ${process.version})`);
