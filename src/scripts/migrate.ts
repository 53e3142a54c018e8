import { loadConfigOrExit } from '../config';
import { migrate } from '../db/migrate';
import { createLogger } from '../logger';
import { runMain } from '../process-lifecycle';

/** `npm run migrate`: creates the database if needed and applies the pending `sql/` migrations. */
const config = loadConfigOrExit('migrate');
const logger = createLogger('migrate', config.logLevel);

runMain(logger, async () => {
  const applied = await migrate(config.migrationDatabaseUrl, logger);
  if (applied.length === 0) {
    process.stdout.write('nothing to apply: the database is up to date\n');
  } else {
    for (const name of applied) process.stdout.write(`applied ${name}\n`);
  }
});
