// `tocsin db migrate`: applies pending migrations (`tocsin start` does it too).
import { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { errors } from '../../errors.ts';
import { openDatabase } from '../../store/database.ts';
import { claimEmbeddedDatabase } from '../../store/owner.ts';

export function dbCommand() {
  const db = new Command('db').description('database maintenance');
  db.command('migrate')
    .description('apply pending migrations')
    .action(async () => {
      const config = loadConfig();
      let release = () => {};
      if (config.database.kind === 'embedded') {
        const claim = claimEmbeddedDatabase(config.dataDir, 'db migrate');
        if (!claim.ok) {
          if (claim.owner.command === 'start') {
            process.stdout.write(`nothing to do: the running engine (pid ${claim.owner.pid}) applied the migrations when it started\n`);
            return;
          }
          throw errors.embeddedDatabaseBusy(config.dataDir, claim.owner);
        }
        release = claim.release;
      }
      try {
        const database = await openDatabase(config.database);
        try {
          const applied = await database.migrate();
          process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : `${database.where} is up to date\n`);
        } finally {
          await database.close();
        }
      } finally {
        release();
      }
    });
  return db;
}
