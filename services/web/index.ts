// Serves the built dashboard (dist/web) at /, with index.html for the app's own paths and long caching of hashed assets.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fp from 'fastify-plugin';
import type { Logger } from '../core/log.js';

export interface WebDeps {
  log: Logger;
  /** The folder `vite build` wrote; dist/web of the repository unless a test says otherwise. */
  dir?: string;
}

/** Paths that belong to the server, never to the single-page app. */
const SERVER_PATHS = /^\/(api|ws|metrics|healthz|livez|readyz)(\/|$|\?)/;

/** dist/web, found from this file whether it runs from services/web (tests) or dist/services/web. */
function defaultDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return resolve(dir, 'dist', 'web');
}

export function webPlugin(deps: WebDeps) {
  return fp(async (app) => {
    const root = deps.dir ?? defaultDir();
    if (!existsSync(join(root, 'index.html'))) {
      deps.log.warn({ root }, 'the dashboard is not built (npm run build); / answers with how to build it');
      app.get('/', async (_req, reply) => reply.code(503).type('text/plain')
        .send(`The dashboard is not built: run \`npm run build\` (it writes ${root}).\n`));
      return;
    }
    await app.register(fastifyStatic, {
      root,
      // Files are listed once at start: the build is immutable while the server runs, and a
      // wildcard of our own below can then answer every other path with the app.
      wildcard: false,
      cacheControl: false,
      dotfiles: 'ignore',
      // The build writes .br and .gz beside each file: sent as they are to browsers that accept them.
      preCompressed: true,
      setHeaders: (reply, path) => {
        // Vite puts a content hash in every file name under assets/: such a file never changes.
        reply.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
    app.get('/*', async (req, reply) => {
      const path = req.url.split('?')[0]!;
      // The build writes files at the top and under assets/ only: a deeper path ending in an extension is the app's
      // (/timeline/ip/10.0.0.5, /timeline/process/powershell.exe), not a missing file.
      if (SERVER_PATHS.test(path) || path.startsWith('/assets/') || /^\/[^/]*\.[A-Za-z0-9]+$/.test(path)) {
        return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no route or file for GET ${path}` });
      }
      // A path of the app itself (/incidents, /network/...): the app's router takes it from here.
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    });
  }, { name: 'minisoc-web', encapsulate: true });
}
