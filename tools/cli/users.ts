// `soc users add|list`: dashboard and API users with roles.
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { createUser, isRole, listUsers, ROLES } from '../../services/auth/users.js';
import { ConfigError, ValidationError } from '../../services/core/errors.js';
import { cliActor, withDb } from './incidents.js';
import { audit } from '../../services/core/audit.js';

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text.replace(/\r?\n$/, '');
}

async function prompt(question: string): Promise<string> {
  // Typed characters are not echoed: readline writes its echo to a stream that drops it, so the password never shows.
  const silent = new Writable({ write: (_chunk, _enc, done) => done() });
  const rl = createInterface({ input: process.stdin, output: silent, terminal: true });
  process.stderr.write(question);
  try {
    return await new Promise((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

export async function usersAdd(name: string, o: { role: string; passwordStdin?: boolean }): Promise<void> {
  if (!isRole(o.role)) throw new ConfigError(`--role ${JSON.stringify(o.role)}: expected one of ${ROLES.join(', ')}`);
  let password: string;
  let generated = false;
  if (o.passwordStdin) password = await readStdin();
  else if (process.stdin.isTTY) password = await prompt(`password for ${name} (empty: generate one): `);
  else password = '';
  if (!password) { password = randomBytes(18).toString('base64url'); generated = true; }
  try {
    await withDb(async (db) => {
      await createUser(db, name, o.role as 'viewer', password);
      await audit(db, cliActor(), 'user.create', name, { role: o.role });
    });
  } catch (err) {
    if (err instanceof ValidationError) throw new ConfigError(err.message, { cause: err });
    throw err;
  }
  process.stdout.write(generated ? `user ${name} (${o.role}) added; password: ${password}\n` : `user ${name} (${o.role}) added\n`);
}

export async function usersList(o: { json?: boolean }): Promise<void> {
  const users = await withDb((db) => listUsers(db));
  const out = users.map((u) => o.json ? JSON.stringify(u) : `${u.name.padEnd(24)} ${u.role.padEnd(8)} ${u.createdAt}${u.disabled ? '  disabled' : ''}`);
  if (out.length) process.stdout.write(out.join('\n') + '\n');
}
