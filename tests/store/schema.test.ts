// The migrations create exactly what the entities describe.
import { migrationNames, openDatabase } from '../../engine/store/database.ts';

test('after the migrations, the schema matches the entities', async () => {
  const db = await openDatabase({ kind: 'memory' });
  try {
    expect(await db.migrate()).toEqual(['Migration20261121_core', 'Migration20261121_flows', 'Migration20261121_whatsapp', 'Migration20261121_broadcasts', 'Migration20261121_reminders', 'Migration20261121_email', 'Migration20261121_encryption']);
    expect(await db.migrate()).toEqual([]);
    expect(await (await db.orm()).schema.getUpdateSchemaSQL({ wrap: false })).toBe('');
  } finally {
    await db.close();
  }
});

test('migrations/index.ts lists every migration file (a start skips MikroORM when all of them are applied)', async () => {
  const { migrations } = await import('../../migrations/index.ts');
  expect(migrations.map((migration) => migration.name).sort()).toEqual(migrationNames());
});
