// Importing contacts: 100,000 CSV rows (names, e-mails, phones, groups, consent) into
// PostgreSQL, then the same file again (nothing to change).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseConfig } from '../engine/config.ts';
import { importContacts } from '../engine/contacts/import.ts';
import { withServices } from './services.ts';

export async function measureImport(database: DatabaseConfig, rows: number) {
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-bench-import-'));
  const path = join(dir, 'contacts.csv');
  const lines = ['name,email,phone,language,groups,consent,city'];
  for (let i = 0; i < rows; i++) lines.push(`Supporter ${i},supporter${i}@example.org,+3361${String(i).padStart(7, '0')},${['en', 'fr', 'ar', 'ru'][i % 4]},volunteers;g${i % 10},yes,City ${i % 100}`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  try {
    return await withServices(database, {}, async (services) => {
      const options = { defaultLanguage: 'en', languages: services.i18n.languages };
      const first = await importContacts(services.db, path, options);
      const again = await importContacts(services.db, path, options);
      return { backend: database.kind === 'postgres' ? 'postgres' : 'pglite', rows, seconds: first.seconds, rows_per_s: Math.round(rows / first.seconds), reimport_s: again.seconds, created: first.created, reimport_changed: again.created + again.updated };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
