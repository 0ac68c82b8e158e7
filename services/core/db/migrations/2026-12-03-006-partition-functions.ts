// Event partitions made and dropped through two functions owned by the schema owner, so the services' own role
// needs no DDL right at all: it may call these two and nothing else that changes the schema.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // SECURITY DEFINER runs as the function's owner (the role that ran the migrations). The search_path is fixed so a
  // caller cannot put its own objects in front of ours; the day is a date, and names and bounds are quoted by format().
  await sql`
    CREATE FUNCTION minisoc_ensure_event_partition(day date) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
    DECLARE
      name text := 'events_p' || to_char(day, 'YYYYMMDD');
    BEGIN
      EXECUTE format('CREATE TABLE IF NOT EXISTS public.%I PARTITION OF public.events FOR VALUES FROM (%L) TO (%L)',
        name, day::text, (day + 1)::text);
      RETURN name;
    END
    $fn$`.execute(db);
  await sql`
    CREATE FUNCTION minisoc_drop_event_partitions_before(cutoff date) RETURNS SETOF text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
    DECLARE
      part text;
    BEGIN
      FOR part IN
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        JOIN pg_namespace n ON n.oid = p.relnamespace
        WHERE p.relname = 'events' AND n.nspname = 'public' AND c.relname ~ '^events_p[0-9]{8}$'
          AND c.relname < 'events_p' || to_char(cutoff, 'YYYYMMDD')
        ORDER BY c.relname
      LOOP
        EXECUTE format('DROP TABLE IF EXISTS public.%I', part);
        RETURN NEXT part;
      END LOOP;
    END
    $fn$`.execute(db);
  // Functions are callable by everyone unless revoked; the grant to the services' role comes from soc migrate.
  await sql`REVOKE ALL ON FUNCTION minisoc_ensure_event_partition(date) FROM PUBLIC`.execute(db);
  await sql`REVOKE ALL ON FUNCTION minisoc_drop_event_partitions_before(date) FROM PUBLIC`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION IF EXISTS minisoc_drop_event_partitions_before(date)`.execute(db);
  await sql`DROP FUNCTION IF EXISTS minisoc_ensure_event_partition(date)`.execute(db);
}
