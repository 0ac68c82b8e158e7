// `npm start`: runs `npm run build` only when a source file changed since the last build it made.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.build-stamp');
const inputs = ['proto', 'services', 'tools', 'agent', 'test', 'rules', 'web', 'package.json', 'package-lock.json', 'tsconfig.json', 'nats.conf'];
const skip = new Set(['node_modules', 'dist', 'test-output', '.svelte-kit']);

/** The newest modification time under `path` (ms), 0 when it does not exist. */
function newest(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const entry of readdirSync(path)) if (!skip.has(entry)) max = Math.max(max, newest(join(path, entry)));
  return max;
}

const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
const changed = Math.max(...inputs.map((p) => newest(join(root, p))));
if (built > 0 && changed <= built) {
  process.stderr.write('build is up to date (nothing changed since the last npm start build)\n');
} else {
  const started = Date.now();
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  // Stamped with the time the build started: a file saved during the build makes the next start build again.
  writeFileSync(stamp, `${new Date(started).toISOString()}\n`);
  utimesSync(stamp, new Date(started), new Date(started));
}
