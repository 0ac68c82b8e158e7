import { createSocket } from 'node:dgram';
import { connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { startTestNats, waitFor, type TestNats } from '../../test/harness.js';
import { createLogger } from '../core/log.js';
import { RawBatch } from '../core/proto.js';
import { ensureTopology } from '../core/topology.js';
import { Framer, startSyslog, type SyslogListener } from './syslog.js';

describe('Framer', () => {
  it('splits LF-framed messages across chunks and drops the CR of CRLF', () => {
    const f = new Framer(1000);
    expect(f.push('<34>Oct 11 22:14:15 host su: a\r\n<13>Oct')).toEqual(['<34>Oct 11 22:14:15 host su: a']);
    expect(f.push(' 11 22:14:16 host b\n')).toEqual(['<13>Oct 11 22:14:16 host b']);
  });

  it('reads octet-counted messages, which may contain newlines', () => {
    const f = new Framer(1000);
    expect(f.push('11 <13>a\nb c d14 <13>second')).toEqual(['<13>a\nb c d']);
    expect(f.push(' one')).toEqual(['<13>second one']);
  });

  it('keeps an over-long line cut at the size limit, skips the rest of it up to its newline, and counts it', () => {
    const f = new Framer(10);
    expect(f.push('x'.repeat(25))).toEqual(['x'.repeat(10)]);
    expect(f.push('y'.repeat(30))).toEqual([]);
    expect(f.push('zz\nnext one\n')).toEqual(['next one']);
    expect(f.truncated).toBe(1);
    expect(f.push('tail')).toEqual([]);
    expect(f.end()).toEqual(['tail']);
  });

  it('keeps an over-long octet-counted message cut and reads the message after it', () => {
    const f = new Framer(10);
    expect(f.push(`25 ${'a'.repeat(12)}`)).toEqual(['a'.repeat(10)]);
    expect(f.push(`${'a'.repeat(13)}5 hello`)).toEqual(['hello']);
    expect(f.truncated).toBe(1);
  });

  it('never turns the rest of one long line into further messages, however it arrives', () => {
    const f = new Framer(100);
    const out: string[] = [];
    const stream = `${'<13>'}${'a'.repeat(1000)}\n<14>short\n`;
    for (let i = 0; i < stream.length; i += 7) out.push(...f.push(stream.slice(i, i + 7)));
    expect(out).toEqual([`<13>${'a'.repeat(96)}`, '<14>short']);
  });
});

describe('startSyslog', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let listener: SyslogListener;

  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connect({ servers: nats.url });
    jsm = await jetstreamManager(nc);
    await ensureTopology(jsm, { maxBytes: 64 * 1024 * 1024, maxAgeS: 3600, replicas: 1, ackWaitMs: 30_000 });
    listener = await startSyslog(jetstream(nc), {
      host: '127.0.0.1', udpPort: 0, tcpPort: 0, sourceId: 'fw', batchRecords: 100,
      flushIntervalMs: 50, maxBufferedRecords: 1000, maxMessageBytes: 8192,
    }, createLogger('test', 'silent'));
  });

  afterAll(async () => {
    await listener?.stop();
    await nc?.close();
    await nats?.close();
  });

  async function records(): Promise<string[]> {
    const info = await jsm.streams.info('INGEST');
    const out: string[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage('INGEST', { seq }).catch(() => null);
      if (m && m.subject === 'ingest.fw') {
        const b = RawBatch.decode(m.data);
        expect(b.format).toBe('syslog');
        out.push(...b.records);
      }
    }
    return out;
  }

  it('publishes UDP datagrams and TCP lines as syslog records of its source', async () => {
    const udp = createSocket('udp4');
    for (let i = 0; i < 5; i++) udp.send(`<38>Nov 22 10:00:0${i} gw sshd[1]: udp ${i}`, listener.udpPort, '127.0.0.1');
    const tcp = tcpConnect(listener.tcpPort, '127.0.0.1');
    await new Promise((r) => tcp.once('connect', r));
    tcp.end(Array.from({ length: 5 }, (_, i) => `<38>Nov 22 10:00:0${i} gw sshd[1]: tcp ${i}`).join('\n') + '\n');
    const got = await waitFor('10 records', async () => { const r = await records(); return r.length >= 10 && r; });
    udp.close();
    expect(got.filter((r) => r.includes(': udp ')).sort()).toHaveLength(5);
    expect(got.filter((r) => r.includes(': tcp '))).toEqual(Array.from({ length: 5 }, (_, i) => `<38>Nov 22 10:00:0${i} gw sshd[1]: tcp ${i}`));
  });

  it('keeps what it received while NATS is away and publishes it when NATS returns', async () => {
    await nats.stop();
    const tcp = tcpConnect(listener.tcpPort, '127.0.0.1');
    await new Promise((r) => tcp.once('connect', r));
    tcp.end('<38>Nov 22 11:00:00 gw app: while away\n');
    await waitFor('the record to be received and kept', () => listener.buffered() === 1, 30_000, 20);
    await nats.restart();
    const got = await waitFor('the record sent while NATS was away', async () => {
      const r = await records();
      return r.includes('<38>Nov 22 11:00:00 gw app: while away') && r;
    }, 60_000, 250);
    expect(got.filter((r) => r.endsWith('while away'))).toHaveLength(1);
  });
});
