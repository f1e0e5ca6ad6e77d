// Engine services on a fresh test database, with the shipped flows and locales.
import { resolve } from 'node:path';
import { loadConfig, type Config } from '../../engine/config.ts';
import { silentLogger } from '../../engine/log.ts';
import { openServices, type Services } from '../../engine/services.ts';
import type { Channel } from '../../engine/types.ts';
import { createSchema, dropSchema, type Backend } from './database.ts';

export const ROOT = resolve(import.meta.dirname, '../..');

export function testConfig(overrides: Partial<Config> = {}): Config {
  const config = loadConfig({ FLOWS_DIR: resolve(ROOT, 'flows'), LOCALES_DIR: resolve(ROOT, 'locales'), DATABASE_URL: 'memory://' });
  // Fast retries and polls: tests never wait for real backoff.
  config.delivery = { ...config.delivery, backoffBaseMs: 10, backoffMaxMs: 50, pollMs: 20 };
  // No quiet hours unless a test asks: results must not depend on the time of day.
  config.quietHours = { start: 0, end: 0 };
  return { ...config, ...overrides };
}

export interface TestServices extends Services {
  /** PostgreSQL only: the schema these services run in. */
  schema?: string;
  close(): Promise<void>;
}

/** Services on a fresh database on `backend` (migrated); `close` stops them and drops it. */
export async function openTestServices(
  backend: Backend,
  options: { channels?: Channel[]; config?: Partial<Config>; schema?: string } = {},
): Promise<TestServices> {
  const url = backend.config.kind === 'postgres' ? backend.config.url : undefined;
  const schema = url ? (options.schema ?? (await createSchema(url))) : undefined;
  const config = testConfig({ database: backend.config, ...options.config });
  const services = await openServices(config, { log: silentLogger(), channels: options.channels, database: { schema } });
  return {
    ...services,
    schema,
    close: async () => {
      await services.delivery.stop();
      await services.pipeline.idle();
      await services.db.close();
      if (url && schema && !options.schema) await dropSchema(url, schema);
    },
  };
}
