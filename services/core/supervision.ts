// The service side of `soc up`'s supervision: ready and alive messages over IPC, the states of the other
// services as the supervisor tells them, and metrics gathered from every service on request.
import { registry } from './metrics.js';

/** What the supervisor knows of one service. */
export interface ServiceState {
  name: string;
  state: 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped' | 'failed';
  pid: number | null;
  /** When it entered this state (ISO). */
  since: string;
  restarts: number;
  /** Why it last ended: exit code or signal, and the last line it wrote to stderr. */
  lastExit: string | null;
}

/** Messages a service sends its supervisor. */
export type ToSupervisor =
  | { type: 'ready'; url?: string }
  | { type: 'alive' }
  | { type: 'metrics?'; id: number }
  | { type: 'metrics'; id: number; data: unknown };

/** Messages the supervisor sends a service. */
export type ToService =
  | { type: 'states'; states: ServiceState[] }
  | { type: 'metrics?'; id: number }
  | { type: 'metrics'; id: number; text: string | null };

/** Whether this process runs under `soc up`'s supervisor (forked with an IPC channel). */
export function supervised(): boolean {
  return typeof process.send === 'function' && process.env.SOC_SUPERVISED === '1';
}

function send(m: ToSupervisor): void {
  if (process.connected) process.send!(m, undefined, {}, () => undefined);
}

let states: ServiceState[] | null = null;
const pendingMetrics = new Map<number, (text: string | null) => void>();
let nextId = 1;

/**
 * Joins the supervisor: sends `alive` every second (a stalled event loop stops them, and the supervisor
 * restarts the service), answers metric requests, keeps the service states it is sent, and calls
 * `onParentGone` when the supervisor goes away (this service must then stop too).
 */
export function joinSupervisor(onParentGone: () => void): { ready(url?: string): void } {
  if (!supervised()) return { ready: () => undefined };
  const alive = setInterval(() => send({ type: 'alive' }), 1000);
  alive.unref();
  process.on('message', (raw: unknown) => {
    const m = raw as ToService;
    if (m?.type === 'states') states = m.states;
    else if (m?.type === 'metrics?') {
      registry.getMetricsAsJSON().then((data) => send({ type: 'metrics', id: m.id, data }), () => send({ type: 'metrics', id: m.id, data: [] }));
    } else if (m?.type === 'metrics') {
      pendingMetrics.get(m.id)?.(m.text);
      pendingMetrics.delete(m.id);
    }
  });
  process.once('disconnect', () => {
    clearInterval(alive);
    onParentGone();
  });
  return { ready: (url) => send({ type: 'ready', url }) };
}

/** The states of every service as the supervisor last told them; null when not supervised. */
export function serviceStates(): ServiceState[] | null {
  return states;
}

/** The metrics of every supervised service in Prometheus text, or null (not supervised, or no answer in time). */
export function allMetrics(timeoutMs = 2000): Promise<string | null> {
  if (!supervised()) return Promise.resolve(null);
  const id = nextId++;
  return new Promise((resolve) => {
    const timer = setTimeout(() => { pendingMetrics.delete(id); resolve(null); }, timeoutMs);
    pendingMetrics.set(id, (text) => { clearTimeout(timer); resolve(text); });
    send({ type: 'metrics?', id });
  });
}
