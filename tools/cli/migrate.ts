// `soc migrate`: the schema migrations as the owner, then the services' role granted rows and nothing more.
import { loadConfig } from '../../services/core/config.js';
import { createDb, migrateToLatest } from '../../services/core/db/index.js';
import { grantServiceRole, roleOfUrl } from '../../services/core/db/roles.js';
import { ConfigError } from '../../services/core/errors.js';
import { createLogger } from '../../services/core/log.js';

export async function migrate(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('migrate');
  const ownerUrl = config.DATABASE_OWNER_URL ?? config.DATABASE_URL;
  if (!ownerUrl) throw new ConfigError('set DATABASE_OWNER_URL (the schema owner) and DATABASE_URL (the services\' role)');
  const owner = createDb(ownerUrl, { max: 1 });
  try {
    await migrateToLatest(owner, log);
    if (config.DATABASE_OWNER_URL && config.DATABASE_URL) {
      const { user, password } = roleOfUrl(config.DATABASE_URL);
      await grantServiceRole(owner, user, { password, log });
      process.stdout.write(`schema migrated as the owner; role ${user} may read and write rows only\n`);
    } else {
      process.stdout.write('schema migrated (no DATABASE_OWNER_URL: the services connect as the owner)\n');
    }
  } finally {
    await owner.destroy();
  }
}
