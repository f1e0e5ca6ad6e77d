// Materializing a broadcast: 100,000 recipients into the outbox with one INSERT … SELECT.
import type { DatabaseConfig } from '../engine/config.ts';
import { loadConfig } from '../engine/config.ts';
import { silentLogger } from '../engine/log.ts';
import { openServices } from '../engine/services.ts';
import { createSchema, dropSchema } from '../tests/helpers/database.ts';

export interface BroadcastResult {
  backend: string;
  recipients: number;
  materialize_s: number;
}

export async function measureMaterialize(database: DatabaseConfig, recipients: number): Promise<BroadcastResult> {
  const schema = database.kind === 'postgres' ? await createSchema(database.url) : undefined;
  const config = { ...loadConfig({ DATABASE_URL: 'memory://', TELEGRAM_BOT_TOKEN: '1:bench' }), database };
  const services = await openServices(config, { log: silentLogger(), database: { schema } });
  try {
    const { db } = services;
    await db.query(`insert into contacts (name, language) select 'Supporter ' || n, (array['en','fr','ar','ru'])[1 + n % 4] from generate_series(1, $1::int) as n`, [recipients]);
    await db.query(`insert into identities (contact_id, channel, address) select id, 'telegram', (1000000 + id)::text from contacts`);
    await db.query(`insert into consents (contact_id, channel, status, source) select id, 'telegram', 'granted', 'bench' from contacts`);
    await db.query(`analyze`);
    const id = await services.broadcasts.create('bench', 'everyone', { template: 'alert.sample_message' });
    const started = performance.now();
    const queued = await services.broadcasts.start(id);
    const seconds = (performance.now() - started) / 1000;
    return { backend: db.kind === 'postgres' ? 'postgres' : 'pglite', recipients: queued, materialize_s: Math.round(seconds * 100) / 100 };
  } finally {
    await services.db.close();
    if (schema && database.kind === 'postgres') await dropSchema(database.url, schema);
  }
}
