// `soc users add|list|disable|enable|reset-password|set-role|end-sessions`: dashboard and API users, their roles and lifecycle.
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { createUser, endSessions, isRole, listUsers, resetPassword, ROLES, setDisabled, setRole } from '../../services/auth/users.js';
import type { Db } from '../../services/core/db/index.js';
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

/** A password from stdin, a prompt, or generated (then `generated` is true and the caller prints it). */
async function newPassword(name: string, fromStdin: boolean | undefined): Promise<{ password: string; generated: boolean }> {
  let password: string;
  if (fromStdin) password = await readStdin();
  else if (process.stdin.isTTY) password = await prompt(`password for ${name} (empty: generate one): `);
  else password = '';
  if (!password) return { password: randomBytes(18).toString('base64url'), generated: true };
  return { password, generated: false };
}

/** Runs a change to a user, audited as the CLI's operator; policy and unknown-user errors become CLI errors. */
async function change(name: string, action: string, detail: object, work: (db: Db) => Promise<unknown>): Promise<void> {
  try {
    await withDb(async (db) => {
      await work(db);
      await audit(db, cliActor(), action, name, detail);
    });
  } catch (err) {
    if (err instanceof ValidationError) throw new ConfigError(err.message, { cause: err });
    throw err;
  }
}

export async function usersAdd(name: string, o: { role: string; passwordStdin?: boolean }): Promise<void> {
  if (!isRole(o.role)) throw new ConfigError(`--role ${JSON.stringify(o.role)}: expected one of ${ROLES.join(', ')}`);
  const { password, generated } = await newPassword(name, o.passwordStdin);
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

// Each change ends the user's sessions; open live views close within seconds (the gateway re-checks them).
export async function usersDisable(name: string): Promise<void> {
  await change(name, 'user.update', { disabled: true }, (db) => setDisabled(db, name, true));
  process.stdout.write(`user ${name} disabled; their sessions ended\n`);
}

export async function usersEnable(name: string): Promise<void> {
  await change(name, 'user.update', { disabled: false }, (db) => setDisabled(db, name, false));
  process.stdout.write(`user ${name} enabled\n`);
}

export async function usersResetPassword(name: string, o: { passwordStdin?: boolean }): Promise<void> {
  const { password, generated } = await newPassword(name, o.passwordStdin);
  await change(name, 'user.password-reset', {}, (db) => resetPassword(db, name, password));
  process.stdout.write(generated ? `password of ${name} reset; new password: ${password}\n` : `password of ${name} reset; their sessions ended\n`);
}

export async function usersSetRole(name: string, role: string): Promise<void> {
  await change(name, 'user.update', { role }, (db) => setRole(db, name, role));
  process.stdout.write(`user ${name} is now ${role}; their sessions ended\n`);
}

export async function usersEndSessions(name: string): Promise<void> {
  let ended = 0;
  await change(name, 'user.sessions-end', {}, async (db) => { ended = await endSessions(db, name); });
  process.stdout.write(`${ended} session(s) of ${name} ended\n`);
}
