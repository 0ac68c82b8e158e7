// The gateway's counters, in the process-wide registry served at /metrics.
import { Counter, Gauge } from 'prom-client';
import { registry } from '../core/metrics.js';

export const gatewayMetrics = {
  clients: new Gauge({ name: 'minisoc_gateway_clients', help: 'WebSocket clients connected to /ws', registers: [registry] }),
  messagesSkipped: new Counter({
    name: 'minisoc_gateway_messages_skipped_total', help: 'Messages not sent to a slow client (told to it as {type:"dropped"} when it catches up)',
    labelNames: ['type'] as const, registers: [registry],
  }),
  clientsDropped: new Counter({ name: 'minisoc_gateway_clients_dropped_total', help: 'Clients disconnected for staying too slow to read', registers: [registry] }),
  sessionsEnded: new Counter({ name: 'minisoc_gateway_sessions_ended_total', help: 'Open sockets closed because their session ended (logout, user disabled, role changed, expiry)', registers: [registry] }),
  authFailures: new Counter({ name: 'minisoc_gateway_auth_failures_total', help: 'WebSocket upgrades refused for a missing or bad session', registers: [registry] }),
};
