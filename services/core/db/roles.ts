// The split between the schema owner and the services' role: `soc migrate` migrates as the owner and grants the
// services' role data rights only; services that do not migrate wait for the schema instead of changing it.
import { sql } from 'kysely';
import { backoffMs, sleep } from '../backoff.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { migrations } from './migrations/index.js';
import type { Db } from './index.js';

/** Kysely's bookkeeping: the services read it to know the schema is current, never write it. */
const BOOKKEEPING = ['minisoc_migrations', 'minisoc_migrations_lock'];
/** The two functions of migration 006 through which the services make and drop event partitions. */
const PARTITION_FUNCTIONS = ['minisoc_ensure_event_partition(date)', 'minisoc_drop_event_partitions_before(date)'];

/** The user and password in a postgres:// URL (the services' DATABASE_URL names their role). */
export function roleOfUrl(url: string): { user: string; password?: string } {
  const u = new URL(url);
  const user = decodeURIComponent(u.username);
  if (!user) throw new ConfigError('DATABASE_URL names no user: the services\' role must be in the URL (postgres://role:password@host/db)');
  return { user, ...(u.password ? { password: decodeURIComponent(u.password) } : {}) };
}

/** Whether the role may do more than read and write rows: each finding is a sentence; none means least privilege. */
export async function roleExcess(db: Db, role: string): Promise<string[]> {
  const { rows: [r] } = await sql<{ rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean; rolbypassrls: boolean; owner_member: boolean; owns: number; schema_create: boolean; db_create: boolean }>`
    SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls,
      pg_has_role(${role}, current_user, 'MEMBER') AS owner_member,
      (SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relowner = r.oid AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema') AS owns,
      has_schema_privilege(${role}, 'public', 'CREATE') AS schema_create,
      has_database_privilege(${role}, current_database(), 'CREATE') AS db_create
    FROM pg_roles r WHERE r.rolname = ${role}`.execute(db);
  if (!r) return [`role ${role} does not exist`];
  const found: string[] = [];
  if (r.rolsuper) found.push(`${role} is a superuser`);
  if (r.rolcreaterole || r.rolcreatedb || r.rolbypassrls) found.push(`${role} may create roles or databases or bypass row security`);
  if (r.owner_member) found.push(`${role} is, or is a member of, the owner role`);
  if (r.owns) found.push(`${role} owns ${r.owns} tables or other relations`);
  if (r.schema_create) found.push(`${role} may create objects in schema public`);
  if (r.db_create) found.push(`${role} may create schemas in the database`);
  return found;
}

/** Runs a statement whose identifiers and literals the server quotes (format's %I and %L): utility statements take no parameters. */
async function exec(db: Db, template: string, ...args: string[]): Promise<void> {
  const params = args.map((a) => sql`${a}::text`);
  const { rows: [row] } = await sql<{ stmt: string }>`SELECT format(${template}, ${sql.join(params)}) AS stmt`.execute(db);
  await sql.raw(row!.stmt).execute(db);
}

/**
 * As the schema owner (after the migrations): creates the services' role when it does not exist (with `password`),
 * sets its password when the owner may, grants it rows of every table, the sequences and the partition functions,
 * and nothing else; then checks it and throws a ConfigError naming what is still too much.
 */
export async function grantServiceRole(owner: Db, role: string, o: { password?: string; log?: Logger } = {}): Promise<void> {
  const { rows: [me] } = await sql<{ user: string; can_manage: boolean; exists: boolean }>`
    SELECT current_user AS user, (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) AS can_manage,
      EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${role}) AS exists`.execute(owner);
  if (me!.user === role) throw new ConfigError(`DATABASE_URL and DATABASE_OWNER_URL both connect as ${role}: the services need a role of their own`);
  if (!me!.exists) {
    if (!o.password) throw new ConfigError(`role ${role} does not exist and DATABASE_URL gives no password to create it with`);
    await exec(owner, 'CREATE ROLE %I LOGIN PASSWORD %L NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', role, o.password);
    o.log?.info({ role }, 'services\' database role created');
  } else if (o.password && me!.can_manage) {
    // The password in DATABASE_URL is the one that counts: a changed secret takes effect at the next soc migrate.
    await exec(owner, 'ALTER ROLE %I WITH LOGIN PASSWORD %L', role, o.password);
  }
  await exec(owner, 'GRANT CONNECT ON DATABASE %I TO %I', await currentDatabase(owner), role);
  await exec(owner, 'GRANT USAGE ON SCHEMA public TO %I', role);
  await exec(owner, 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %I', role);
  for (const t of BOOKKEEPING) await exec(owner, 'REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON TABLE public.%I FROM %I', t, role);
  await exec(owner, 'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO %I', role);
  for (const f of PARTITION_FUNCTIONS) await exec(owner, `GRANT EXECUTE ON FUNCTION public.${f} TO %I`, role);
  // Partitions made later (by the owner's function) get the same rights without another soc migrate.
  await exec(owner, 'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I', role);
  const { rows: [s] } = await sql<{ create: boolean }>`SELECT has_schema_privilege(${role}, 'public', 'CREATE') AS create`.execute(owner);
  // PostgreSQL before 15 lets everyone create in schema public; only the schema's owner can take that back.
  if (s!.create) await exec(owner, 'REVOKE CREATE ON SCHEMA public FROM PUBLIC, %I', role);
  const excess = await roleExcess(owner, role);
  if (excess.length) throw new ConfigError(`the services' role is not least privilege: ${excess.join('; ')}`);
}

async function currentDatabase(db: Db): Promise<string> {
  const { rows: [r] } = await sql<{ name: string }>`SELECT current_database() AS name`.execute(db);
  return r!.name;
}

/** The migrations this code knows that the database has not run (all of them when it has none). */
export async function pendingMigrations(db: Db): Promise<string[]> {
  try {
    const { rows } = await sql<{ name: string }>`SELECT name FROM minisoc_migrations`.execute(db);
    const done = new Set(rows.map((r) => r.name));
    return Object.keys(migrations).filter((n) => !done.has(n));
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return Object.keys(migrations);
    throw err;
  }
}

/**
 * For a service that does not migrate (DATABASE_MIGRATE=false): waits until `soc migrate` has brought the schema
 * to this code's latest migration. A role that may not read the schema is a configuration error, not a wait.
 */
export async function waitForSchema(db: Db, log?: Logger, o: { maxDelayMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    let pending: string[];
    try {
      pending = await pendingMigrations(db);
    } catch (err) {
      if ((err as { code?: string }).code === '42501') throw new ConfigError(`the database role may not read the schema (${(err as Error).message}): run soc migrate`, { cause: err });
      pending = [`(database unavailable: ${(err as Error).message})`];
    }
    if (pending.length === 0) return;
    if (attempt === 1 || attempt % 10 === 0) log?.warn({ pending }, 'waiting for the database schema: run soc migrate (DATABASE_MIGRATE=false, so this service does not migrate)');
    if (o.signal?.aborted) throw new ConfigError(`the database schema is behind this code: ${pending.join(', ')}`);
    await sleep(backoffMs(attempt, { baseMs: 250, maxMs: o.maxDelayMs ?? 5000 }));
  }
}
