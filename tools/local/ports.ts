// Ports `soc up` chooses once and keeps in DATA_DIR/ports.json: agents and clients find it at the same
// address after every restart, and a kept port that is taken is an error, never a silent new port.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ConfigError } from '../../services/core/errors.js';

export type PortName = 'nats' | 'postgres';

/** Whether nothing listens on host:port (we can bind it). */
export function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/** A port the system picks as free right now. */
export function anyFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function portsFile(dataDir: string): string {
  return join(dataDir, 'ports.json');
}

function readPorts(dataDir: string): Partial<Record<PortName, number>> {
  try {
    return JSON.parse(readFileSync(portsFile(dataDir), 'utf8')) as Partial<Record<PortName, number>>;
  } catch {
    return {};
  }
}

/**
 * The port of `name` for this data directory: the one kept from the first start, which must be free now;
 * at the first start `preferred` when it is free, else any free port, then kept.
 */
export async function keptPort(dataDir: string, name: PortName, preferred?: number): Promise<number> {
  const ports = readPorts(dataDir);
  const kept = ports[name];
  if (kept) {
    if (!(await portFree(kept))) {
      throw new ConfigError(`the ${name} port ${kept} of this data directory (kept in ${portsFile(dataDir)} since its first start) is taken by another program: `
        + `stop that program, or remove "${name}" from ${portsFile(dataDir)} to choose a new port (enrolled agents then need the new address)`);
    }
    return kept;
  }
  const port = preferred && (await portFree(preferred)) ? preferred : await anyFreePort();
  const next = { ...ports, [name]: port };
  writeFileSync(`${portsFile(dataDir)}.tmp`, `${JSON.stringify(next, null, 2)}\n`);
  renameSync(`${portsFile(dataDir)}.tmp`, portsFile(dataDir));
  return port;
}
