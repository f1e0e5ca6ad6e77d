// The migrations create exactly what the entities describe.
import { openDatabase } from '../../engine/store/database.ts';

test('after the migrations, the schema matches the entities', async () => {
  const db = await openDatabase({ kind: 'memory' });
  try {
    expect(await db.migrate()).toEqual(['Migration20261121_core', 'Migration20261121_flows', 'Migration20261121_whatsapp', 'Migration20261121_broadcasts', 'Migration20261121_reminders', 'Migration20261121_email', 'Migration20261121_encryption']);
    expect(await db.migrate()).toEqual([]);
    expect(await db.orm.schema.getUpdateSchemaSQL({ wrap: false })).toBe('');
  } finally {
    await db.close();
  }
});
