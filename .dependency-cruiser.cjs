// The floors of docs/ARCHITECTURE.md as rules: imports run downwards only, and no module or folder loops.
//   1-2 services/core (contract: proto, ECS table, command allow-list; runtime: config, topology, runner, db, ...)
//   3   engines: services/normalize/parsers, the Sigma engine (services/detect minus its stage files: service.ts,
//       main.ts and filter-store.ts, the saved filters in KV), enrich readers
//   4   stages: normalize, enrich, detect, store, heartbeat, command (minus command/routes.ts)
//   5   HTTP plugins: auth (lowest), ingest, api, command/routes.ts, enroll, gateway, web
//   6   composition roots: services/http, tools/cli, tools/simulator, agent (on floors 1-3 only), and tools/local
// Tests (*.test.ts, test/) may reach any floor, but take part in the loop check.
const CORE = '^services/core/';
const ENGINES = '^services/(normalize/parsers/|detect/(?!service\\.ts|main\\.ts|filter-store\\.ts)|enrich/(?!index\\.ts|main\\.ts))';
const STAGES = '^services/(normalize|enrich|detect|store|heartbeat)/|^services/command/(?!routes)';
const PLUGINS = '^services/(auth|ingest|api|enroll|gateway|web)/|^services/command/routes';
const ROOTS = '^(services/http/|tools/|agent/|test/)';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'modules must not import each other, directly or around a loop', from: {}, to: { circular: true } },
    {
      name: 'core-is-the-floor', severity: 'error', comment: 'services/core imports only itself, proto/ and packages',
      from: { path: CORE, pathNot: '\\.test\\.ts$' }, to: { path: '^(services/(?!core/)|tools/|agent/|test/|web/)' },
    },
    {
      name: 'engines-below-stages', severity: 'error', comment: 'engines (parsers, the Sigma engine, enrich readers) import only core and engines',
      from: { path: ENGINES, pathNot: '\\.test\\.ts$' }, to: { path: `${STAGES.split('|').map((p) => `(?:${p})`).join('|')}|${PLUGINS}|${ROOTS}`, pathNot: ENGINES },
    },
    {
      name: 'stages-below-plugins', severity: 'error', comment: 'a stage imports core, engines and its own folder, never HTTP plugins, roots or another stage',
      from: { path: '^services/(normalize|enrich|detect|store|heartbeat|command)/', pathNot: '\\.test\\.ts$|^services/command/routes' },
      to: { path: `${PLUGINS}|${ROOTS}|^services/(normalize|enrich|detect|store|heartbeat|command)/`, pathNot: `${ENGINES}|^services/$1/` },
    },
    {
      name: 'plugins-below-roots', severity: 'error', comment: 'an HTTP plugin imports core, engines, stages and auth, never another plugin or a root',
      from: { path: PLUGINS, pathNot: '\\.test\\.ts$' },
      to: { path: `${PLUGINS}|${ROOTS}`, pathNot: '^services/auth/|^services/$1/' },
    },
    {
      name: 'agent-on-floors-1-to-3', severity: 'error', comment: 'the agent uses proto, core and the detect engine\'s public entry only',
      from: { path: '^agent/', pathNot: '\\.test\\.ts$' },
      to: { path: '^(services|tools|test)/', pathNot: '^services/core/|^services/detect/index\\.ts$' },
    },
    {
      name: 'launchers-below-tools', severity: 'error', comment: 'tools/local (nats-server, Postgres, runtime file) serves the roots and imports none of them',
      from: { path: '^tools/local/', pathNot: '\\.test\\.ts$' }, to: { path: '^(tools/(?!local/)|agent/|test/|services/http/)' },
    },
    {
      name: 'simulator-below-cli', severity: 'error', comment: 'soc simulate is a tool the CLI runs, not the other way round',
      from: { path: '^tools/simulator/', pathNot: '\\.test\\.ts$' }, to: { path: '^tools/cli/' },
    },
    {
      name: 'product-never-imports-tests', severity: 'error',
      from: { path: '^(services|tools|agent)/', pathNot: '\\.test\\.ts$|/testing/' }, to: { path: '^test/|\\.test\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|web|node_modules|proto/gen)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
