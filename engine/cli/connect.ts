// Commands that need the store run in this process — or, when `tocsin start` owns the
// embedded database, inside the engine, through its local socket. Either way they call
// the same actions (engine/local-actions.ts).
import { loadConfig, type Config } from '../config.ts';
import { errors } from '../errors.ts';
import { localActions } from '../local-actions.ts';
import { createLogger } from '../log.ts';
import { openServices } from '../services.ts';
import { claimEmbeddedDatabase } from '../store/owner.ts';
import { callEngine } from './engine-client.ts';

export type Call = <T>(action: keyof typeof localActions, body: unknown) => Promise<T>;

export interface Connection {
  call: Call;
  /** Whether an engine is running on this store (and so delivers what is queued). */
  throughEngine: boolean;
  config: Config;
}

export async function withStore<T>(command: string, work: (connection: Connection) => Promise<T>, config: Config = loadConfig()): Promise<T> {
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, 'stderr');
  let release = () => {};
  if (config.database.kind === 'embedded') {
    const claim = claimEmbeddedDatabase(config.dataDir, command);
    if (!claim.ok) {
      const { socket } = claim.owner;
      if (!socket) throw errors.embeddedDatabaseBusy(config.dataDir, claim.owner);
      return work({ call: (action, body) => callEngine(socket, action, body), throughEngine: true, config });
    }
    release = claim.release;
  }
  try {
    const services = await openServices(config, { log });
    try {
      return await work({ call: async (action, body) => (await localActions[action]!(services, body)) as never, throughEngine: false, config });
    } finally {
      await services.pipeline.idle();
      await services.db.close();
    }
  } finally {
    release();
  }
}
