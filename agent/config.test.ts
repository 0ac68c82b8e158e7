// Agent configuration: defaults, file + environment + flags precedence, and errors that name the key.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../services/core/errors.js';
import { tempDir } from '../test/harness.js';
import { enrolledFile, envName, loadAgentConfig, sanitizeId } from './config.js';
import { AGENT_VERSION } from './version.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function file(name: string, text: string): string {
  const dir = tempDir('minisoc-agent-cfg-');
  dirs.push(dir);
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function configError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('no ConfigError was thrown');
}

describe('agent configuration', () => {
  it('has working defaults: the id comes from the host name, intervals from the issue', () => {
    const c = loadAgentConfig({ env: {} });
    expect(c.id).toBe(sanitizeId(hostname()));
    expect(c).toMatchObject({ natsUrls: ['nats://127.0.0.1:4222'], collectIntervalS: 10, resourceIntervalS: 10, inventoryIntervalMin: 60, heartbeatIntervalS: 10, batchMaxEvents: 500, batchMaxAgeMs: 1000 });
  });

  it('turns any host name into a valid subject token', () => {
    expect(sanitizeId('web-1.example.com')).toBe('web-1-example-com');
    expect(sanitizeId('..ünïcode host..')).toBe('n-code-host');
    expect(sanitizeId('...')).toBe('agent');
    expect(sanitizeId('x'.repeat(100))).toHaveLength(64);
  });

  it('reads YAML and JSON files; the environment wins over the file and flags over both', () => {
    const y = file('agent.yaml', 'id: from-yaml\nnatsUrls:\n  - nats://a:4222\n  - nats://b:4222\ncollectIntervalS: 30\nspoolMaxBytes: 1048576\n');
    expect(loadAgentConfig({ file: y, env: {} })).toMatchObject({ id: 'from-yaml', natsUrls: ['nats://a:4222', 'nats://b:4222'], collectIntervalS: 30, spoolMaxBytes: 1048576 });
    const j = file('agent.json', JSON.stringify({ id: 'from-json', heartbeatIntervalS: 5 }));
    const env = { SOC_AGENT_ID: 'from-env', SOC_AGENT_NATS_URLS: 'nats://x:1, nats://y:2', SOC_AGENT_HEARTBEAT_INTERVAL_S: '7' };
    expect(loadAgentConfig({ file: j, env })).toMatchObject({ id: 'from-env', natsUrls: ['nats://x:1', 'nats://y:2'], heartbeatIntervalS: 7 });
    expect(loadAgentConfig({ file: j, env, overrides: { id: 'from-flag' } }).id).toBe('from-flag');
  });

  it('names the bad key, its value and where it came from', () => {
    const y = file('bad.yaml', 'collectIntervalS: 0\nid: "has space"\n');
    const msg = configError(() => loadAgentConfig({ file: y, env: { SOC_AGENT_BATCH_MAX_EVENTS: 'many' } }));
    expect(msg).toContain(`collectIntervalS in ${y} = 0`);
    expect(msg).toContain(`id in ${y} = "has space": must be 1-64 characters`);
    expect(msg).toContain('batchMaxEvents from SOC_AGENT_BATCH_MAX_EVENTS = "many"');
  });

  it('refuses unknown keys in the file and unknown SOC_AGENT_ variables, which are typos', () => {
    expect(configError(() => loadAgentConfig({ file: file('typo.yaml', 'colectIntervalS: 5\n'), env: {} }))).toContain('colectIntervalS');
    expect(configError(() => loadAgentConfig({ env: { SOC_AGENT_NATS_URL: 'nats://x:4222' } }))).toContain('unknown setting SOC_AGENT_NATS_URL');
  });

  it('refuses a file that is not a mapping or not YAML, and one it cannot read', () => {
    expect(configError(() => loadAgentConfig({ file: file('list.yaml', '- a\n- b\n'), env: {} }))).toContain('must hold a mapping');
    expect(configError(() => loadAgentConfig({ file: file('broken.yaml', 'id: [unclosed\n'), env: {} }))).toContain('not valid YAML');
    expect(configError(() => loadAgentConfig({ file: '/nonexistent/agent.yaml', env: {} }))).toContain('cannot read');
  });

  it('refuses a NATS address that is not a URL', () => {
    expect(configError(() => loadAgentConfig({ env: { SOC_AGENT_NATS_URLS: 'http://x' } }))).toContain('natsUrls[0]');
  });

  it('derives environment names from keys', () => {
    expect(envName('id')).toBe('SOC_AGENT_ID');
    expect(envName('collectIntervalS')).toBe('SOC_AGENT_COLLECT_INTERVAL_S');
    expect(envName('natsUrls')).toBe('SOC_AGENT_NATS_URLS');
  });

  it('reports the version package.json declares', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(AGENT_VERSION).toBe(pkg.version);
  });

  it('reads what enrollment saved in the data dir beneath the file, the environment and flags', () => {
    const dataDir = tempDir('minisoc-agent-enrolled-');
    dirs.push(dataDir);
    writeFileSync(enrolledFile(dataDir), JSON.stringify({ id: 'enrolled-1', natsUrls: ['nats://10.0.0.1:4333'], natsCaFile: join(dataDir, 'ca.pem'), tags: ['lab'], server: 'http://127.0.0.1:8080' }));
    const saved = loadAgentConfig({ env: { SOC_AGENT_DATA_DIR: dataDir } });
    expect(saved).toMatchObject({ id: 'enrolled-1', natsUrls: ['nats://10.0.0.1:4333'], natsCaFile: join(dataDir, 'ca.pem') });
    const flags = loadAgentConfig({ env: { SOC_AGENT_DATA_DIR: dataDir, SOC_AGENT_ID: 'env-id' }, overrides: { natsUrls: 'nats://127.0.0.1:4222' } });
    expect(flags).toMatchObject({ id: 'env-id', natsUrls: ['nats://127.0.0.1:4222'] });
    writeFileSync(enrolledFile(dataDir), JSON.stringify({ natsUrls: 'not a url' }));
    expect(configError(() => loadAgentConfig({ env: { SOC_AGENT_DATA_DIR: dataDir } }))).toContain('saved by soc-agent enroll');
  });
});
