// The syslog listener: UDP datagrams and TCP streams (LF or octet-counted framing) to ingest.<source>.
import { randomUUID } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { JetStreamClient } from '@nats-io/jetstream';
import { Counter } from 'prom-client';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { ingestMetrics, registry } from '../core/metrics.js';
import { RawBatch } from '../core/proto.js';
import { subjects } from '../core/topology.js';
import { backoffMs, sleep } from '../core/backoff.js';

const truncated = new Counter({ name: 'minisoc_syslog_truncated_total', help: 'Syslog messages longer than SYSLOG_MAX_MESSAGE_BYTES, kept cut at that size (the rest of each is not stored)', registers: [registry] });
const dropped = new Counter({ name: 'minisoc_syslog_dropped_total', help: 'UDP syslog datagrams dropped because the buffer was full (UDP has no backpressure)', registers: [registry] });

export interface SyslogOptions {
  host: string;
  /** UDP port (0 = any free one); undefined = no UDP listener. */
  udpPort?: number;
  /** TCP port (0 = any free one); undefined = no TCP listener. */
  tcpPort?: number;
  /** The log source the messages are filed under. */
  sourceId: string;
  batchRecords: number;
  flushIntervalMs: number;
  /** Records held while JetStream is away; past this TCP senders are paused and UDP datagrams dropped. */
  maxBufferedRecords: number;
  /** Largest accepted message: longer ones are kept cut there, the rest skipped and counted (minisoc_syslog_truncated_total). */
  maxMessageBytes: number;
}

export interface SyslogListener {
  udpPort: number;
  tcpPort: number;
  /** Records received and kept in memory, not yet in JetStream (while NATS is away, for example). */
  buffered(): number;
  stop(): Promise<void>;
}

/**
 * Splits a TCP byte stream into syslog messages: RFC 6587 octet counting ("<len> <msg>") or LF framing.
 * A message longer than maxBytes is kept cut at maxBytes and the rest of it skipped (never read as the start
 * of further messages); `truncated` counts them for the listener's metric.
 */
export class Framer {
  private buf = '';
  /** Characters of an over-long octet-counted message still to skip. */
  private skipCount = 0;
  /** The rest of an over-long LF-framed line is skipped up to its newline. */
  private skipLine = false;
  truncated = 0;
  constructor(private readonly maxBytes: number) {}
  push(chunk: string): string[] {
    this.buf += chunk;
    const out: string[] = [];
    for (;;) {
      if (this.skipCount > 0) {
        const n = Math.min(this.skipCount, this.buf.length);
        this.skipCount -= n;
        this.buf = this.buf.slice(n);
        if (this.skipCount > 0) break;
        this.buf = this.buf.replace(/^\r?\n/, '');
      }
      if (this.skipLine) {
        const nl = this.buf.indexOf('\n');
        if (nl < 0) { this.buf = ''; break; }
        this.buf = this.buf.slice(nl + 1);
        this.skipLine = false;
      }
      const m = /^(\d{1,7}) /.exec(this.buf);
      if (m) {
        const len = Number(m[1]);
        const start = m[0].length;
        if (len > this.maxBytes) {
          if (this.buf.length < start + this.maxBytes) break;
          out.push(this.buf.slice(start, start + this.maxBytes));
          this.truncated++;
          this.skipCount = len - this.maxBytes;
          this.buf = this.buf.slice(start + this.maxBytes);
          continue;
        }
        if (this.buf.length < start + len) break;
        out.push(this.buf.slice(start, start + len));
        this.buf = this.buf.slice(start + len).replace(/^\r?\n/, '');
        continue;
      }
      const nl = this.buf.indexOf('\n');
      if (nl < 0 || nl > this.maxBytes) {
        if (this.buf.length > this.maxBytes) {
          out.push(this.buf.slice(0, this.maxBytes));
          this.truncated++;
          this.skipLine = true;
          this.buf = this.buf.slice(this.maxBytes);
          continue;
        }
        break;
      }
      const line = this.buf.slice(0, nl).replace(/\r$/, '');
      this.buf = this.buf.slice(nl + 1);
      if (line.trim()) out.push(line);
    }
    return out;
  }
  /** What is left when the peer closes: a last unterminated line is still a message. */
  end(): string[] {
    const rest = this.buf.trim() && !this.skipLine && this.skipCount === 0 ? [this.buf] : [];
    this.buf = '';
    return rest;
  }
}

export async function startSyslog(js: JetStreamClient, o: SyslogOptions, log: Logger): Promise<SyslogListener> {
  const boot = randomUUID();
  let batchNo = 0;
  let pending: string[] = [];
  let flushing = false;
  let failures = 0;
  const sockets = new Set<Socket>();
  let paused = false;
  const subject = subjects.ingest(o.sourceId);

  const pauseIfFull = () => {
    if (!paused && pending.length >= o.maxBufferedRecords) {
      paused = true;
      for (const s of sockets) s.pause();
    }
  };
  const resumeIfRoom = () => {
    if (paused && pending.length < o.maxBufferedRecords / 2) {
      paused = false;
      for (const s of sockets) s.resume();
    }
  };

  /** Publishes buffered records in order; a failed batch stays at the head and is retried with backoff. */
  const flush = async () => {
    if (flushing || pending.length === 0) return;
    flushing = true;
    try {
      while (pending.length > 0) {
        const records = pending.slice(0, o.batchRecords);
        const data = RawBatch.encode({ source_id: o.sourceId, format: 'syslog', received_ms: Date.now(), records, remote_addr: 'syslog' }).finish();
        try {
          await js.publish(subject, data, { msgID: `syslog:${o.sourceId}:${boot}:${batchNo}` });
        } catch (err) {
          failures++;
          log.warn({ err: errorMessage(err), buffered: pending.length }, 'JetStream refused a syslog batch, keeping it');
          await sleep(backoffMs(failures, { maxMs: 5000 }));
          continue;
        }
        failures = 0;
        batchNo++;
        pending = pending.slice(records.length);
        ingestMetrics.records.inc({ source: o.sourceId }, records.length);
        resumeIfRoom();
      }
    } finally {
      flushing = false;
    }
  };
  const timer = setInterval(() => void flush(), o.flushIntervalMs);
  const add = (msgs: string[]) => {
    for (const m of msgs) pending.push(m);
    if (pending.length >= o.batchRecords) void flush();
    pauseIfFull();
  };

  let udp: UdpSocket | undefined;
  let udpPort = 0;
  if (o.udpPort !== undefined) {
    udp = createSocket('udp4');
    udp.on('message', (msg) => {
      if (pending.length >= o.maxBufferedRecords) { dropped.inc(); return; }
      if (msg.length > o.maxMessageBytes) truncated.inc();
      add([msg.toString('utf8', 0, Math.min(msg.length, o.maxMessageBytes)).replace(/\r?\n$/, '')]);
    });
    await new Promise<void>((res, rej) => { udp!.once('error', rej); udp!.bind(o.udpPort, o.host, () => res()); });
    udpPort = udp.address().port;
  }
  let tcp: Server | undefined;
  let tcpPort = 0;
  if (o.tcpPort !== undefined) {
    tcp = createServer((socket) => {
      sockets.add(socket);
      if (paused) socket.pause();
      const framer = new Framer(o.maxMessageBytes);
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        const before = framer.truncated;
        add(framer.push(chunk));
        if (framer.truncated > before) truncated.inc(framer.truncated - before);
      });
      socket.on('end', () => add(framer.end()));
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', (err) => log.debug({ err: errorMessage(err) }, 'syslog TCP peer error'));
    });
    await new Promise<void>((res, rej) => { tcp!.once('error', rej); tcp!.listen(o.tcpPort, o.host, () => res()); });
    tcpPort = (tcp.address() as { port: number }).port;
  }
  log.info({ udpPort, tcpPort, source: o.sourceId }, 'syslog listening');
  return {
    udpPort, tcpPort,
    buffered: () => pending.length,
    stop: async () => {
      udp?.close();
      for (const s of sockets) s.end();
      await new Promise<void>((res) => (tcp ? tcp.close(() => res()) : res()));
      clearInterval(timer);
      // Whatever was received is published before we go (JetStream permitting).
      for (let i = 0; i < 50 && pending.length > 0; i++) {
        await flush();
        if (pending.length) await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}
