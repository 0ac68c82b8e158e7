// `soc export`: the API's streamed export written to a file, with a progress bar on a terminal.
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { SingleBar, Presets } from 'cli-progress';
import pg from 'pg';
import { EXPORT_FORMATS, EXPORT_KINDS, exportCount, startExport, type ExportFormat, type ExportKind } from '../../services/api/queries/export.js';
import { ConfigError } from '../../services/core/errors.js';
import { withDb } from './incidents.js';
import { databaseUrl } from '../local/runtime.js';

export interface ExportOptions {
  kind: string;
  format: string;
  out: string;
  since?: string; until?: string; host?: string; source?: string; category?: string; user?: string; q?: string; filter?: string[];
  status?: string; severity?: string; rule?: string;
}

export async function exportCommand(o: ExportOptions): Promise<void> {
  if (!(EXPORT_KINDS as readonly string[]).includes(o.kind)) throw new ConfigError(`--kind ${JSON.stringify(o.kind)}: expected events or alerts`);
  if (!(EXPORT_FORMATS as readonly string[]).includes(o.format)) throw new ConfigError(`--format ${JSON.stringify(o.format)}: expected csv or ndjson`);
  const { kind, format, out, ...q } = o;
  const pool = new pg.Pool({ connectionString: databaseUrl(), max: 1 });
  pool.on('error', () => undefined);
  try {
    await withDb(async (db) => {
      // The bar needs a total: one count first, only when someone watches it.
      const watch = out !== '-' && process.stderr.isTTY;
      let bar: SingleBar | undefined;
      if (watch) {
        const n = await exportCount(db, kind as ExportKind, q);
        bar = new SingleBar({ format: 'exporting [{bar}] {percentage}% {value}/{total} rows {eta_formatted} left', stream: process.stderr }, Presets.shades_classic);
        bar.start(n, 0);
      }
      let rows = 0;
      const ex = await startExport(pool, db, kind as ExportKind, format as ExportFormat, q, { onRow: () => { rows++; if (rows % 1000 === 0) bar?.update(rows); } });
      try {
        await pipeline(ex.stream, out === '-' ? process.stdout : createWriteStream(out));
        await ex.done;
      } finally {
        bar?.update(rows);
        bar?.stop();
      }
      if (out !== '-') process.stderr.write(`${rows} ${kind === 'events' ? 'event' : 'alert'}(s) written to ${out}\n`);
    });
  } finally {
    await pool.end();
  }
}
