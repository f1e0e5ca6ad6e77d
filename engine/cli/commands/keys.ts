// `tocsin keys generate|rotate`: encryption at rest (TOCSIN_ENCRYPTION_KEY).
import { Command } from 'commander';
import { loadConfig } from '../../config.ts';
import { errors, TocsinError } from '../../errors.ts';
import { configuredCipher } from '../../services.ts';
import { generateKey } from '../../store/cipher.ts';
import { openDatabase } from '../../store/database.ts';
import { rotateKeys } from '../../store/encryption.ts';
import { claimEmbeddedDatabase } from '../../store/owner.ts';

export function keysCommand() {
  const keys = new Command('keys').description('encryption at rest (TOCSIN_ENCRYPTION_KEY)');
  keys
    .command('generate')
    .description('print a new random key for TOCSIN_ENCRYPTION_KEY')
    .action(() => {
      process.stdout.write(`${generateKey()}\n`);
    });
  keys
    .command('rotate')
    .description('re-seal everything with TOCSIN_ENCRYPTION_KEY, reading old values with TOCSIN_OLD_ENCRYPTION_KEYS (stop the engine first)')
    .action(async () => {
      const config = loadConfig();
      const cipher = configuredCipher(config);
      if (!config.encryption) throw new TocsinError('set TOCSIN_ENCRYPTION_KEY to the new key (and TOCSIN_OLD_ENCRYPTION_KEYS to the old ones, comma-separated, if the data is encrypted already)');
      let release = () => {};
      if (config.database.kind === 'embedded') {
        const claim = claimEmbeddedDatabase(config.dataDir, 'keys rotate');
        if (!claim.ok) throw errors.embeddedDatabaseBusy(config.dataDir, claim.owner);
        release = claim.release;
      }
      try {
        const database = await openDatabase(config.database, { cipher });
        try {
          await database.migrate();
          const summary = await rotateKeys(database, (table, rows) => process.stdout.write(`${table}: ${rows} rows\n`));
          process.stdout.write(summary.keyId ? `everything is now sealed with key ${summary.keyId}\n` : 'everything is now stored as plain text (no TOCSIN_ENCRYPTION_KEY)\n');
        } finally {
          await database.close();
        }
      } finally {
        release();
      }
    });
  return keys;
}
