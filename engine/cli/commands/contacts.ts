// `tocsin contacts import FILE.csv [--dry-run]`, `export [--id ID] [--format csv|json]`, `erase ID`.
import { resolve } from 'node:path';
import { userInfo } from 'node:os';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { importContacts, type ImportSummary } from '../../contacts/import.ts';
import { exportContacts } from '../../contacts/export.ts';
import { TocsinError } from '../../errors.ts';
import { loadConfig } from '../../config.ts';
import { createLogger } from '../../log.ts';
import { openServices } from '../../services.ts';
import { currentOwner } from '../../store/owner.ts';
import { withStore } from '../connect.ts';

export function contactsCommand() {
  const contacts = new Command('contacts').description('contacts: import, export, erase');
  contacts
    .command('import <file>')
    .description('import a CSV file (ours or a CiviCRM export): merged by e-mail, phone or chat id; bad rows reported and skipped')
    .option('--dry-run', 'check and count, write nothing')
    .option('--country <code>', 'country of phone numbers written without +code (FR, LB…)')
    .action(async (file: string, { dryRun, country }: { dryRun?: boolean; country?: string }) => {
      const path = resolve(file);
      const config = loadConfig();
      // With a terminal and no engine on the embedded database, a progress bar.
      const local = config.database.kind !== 'embedded' || !currentOwner(config.dataDir);
      let summary: ImportSummary;
      if (local && process.stderr.isTTY) {
        const bar = new cliProgress.SingleBar({ format: 'reading |{bar}| {value} rows', stream: process.stderr }, cliProgress.Presets.shades_classic);
        bar.start(0, 0);
        summary = await withStore('contacts', async () => {
          const services = await openServices(config, { log: createLogger('warn', 'stderr') });
          try {
            return await importContacts(services.db, path, { dryRun, country, defaultLanguage: services.i18n.defaultLanguage, languages: services.i18n.languages, onProgress: (rows) => (bar.setTotal(rows), bar.update(rows)) });
          } finally {
            await services.db.close();
          }
        }, config).finally(() => bar.stop());
      } else {
        summary = await withStore('contacts', ({ call }) => call<ImportSummary>('/contacts/import', { path, dryRun, country }), config);
      }
      for (const error of summary.errors) process.stderr.write(`${file}:${error.line}:${error.column ? ` ${error.column}:` : ''} ${error.reason}\n`);
      process.stdout.write(
        `${summary.dryRun ? 'Dry run (nothing written): ' : ''}${summary.rows} rows: ${summary.created} created, ${summary.updated} updated, ${summary.merged} merged, ${summary.unchanged} unchanged, ${summary.skipped} skipped (${summary.seconds} s)\n`,
      );
    });
  contacts
    .command('export')
    .description('all contacts (streamed), or everything held about one person')
    .option('--id <id>', 'one person: everything Tocsin holds about them (right of access)')
    .addOption(new Option('--format <format>', 'csv or json').choices(['csv', 'json']))
    .action(async ({ id, format }: { id?: string; format?: 'csv' | 'json' }) => {
      if (id) {
        const data = await withStore('contacts', ({ call }) => call('/contacts/show', { id }));
        return void process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
      }
      const config = loadConfig();
      if (config.database.kind === 'embedded' && currentOwner(config.dataDir)) {
        throw new TocsinError('export all contacts with the engine stopped, or set DATABASE_URL (a full export streams from the database)');
      }
      await withStore('contacts', async () => {
        const services = await openServices(config, { log: createLogger('warn', 'stderr') });
        try {
          await exportContacts(services.db, format ?? 'csv', (line) => new Promise<void>((done) => (process.stdout.write(line) ? done() : process.stdout.once('drain', done))));
        } finally {
          await services.db.close();
        }
      }, config);
    });
  contacts
    .command('erase <id>')
    .description("erase a person's data everywhere (right to erasure); counts stay right")
    .action(async (id: string) => {
      if (!/^\d+$/.test(id)) throw new TocsinError(`"${id}" is not a contact id (see tocsin contacts export)`);
      await withStore('contacts', ({ call }) => call('/contacts/erase', { id, actor: `cli:${userInfo().username}` }));
      process.stdout.write(`Contact ${id} erased.\n`);
    });
  return contacts;
}
