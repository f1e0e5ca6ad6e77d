// Commands that need the store run in this process — or, when `tocsin start` owns the
// embedded database, inside the engine, through its local socket.
import { loadConfig, type Config } from '../config.ts';
import { errors } from '../errors.ts';
import { createLogger } from '../log.ts';
import { openServices, type Services } from '../services.ts';
import { claimEmbeddedDatabase } from '../store/owner.ts';
import { callEngine } from './engine-client.ts';

export interface Connected<T> {
  /** Runs the command here, with the engine's services. */
  local(services: Services): Promise<T>;
  /** Runs it in the running engine: the local API path and its JSON body. */
  remote: { path: string; body: unknown };
}

export async function runWithStore<T>(command: string, work: Connected<T>, config: Config = loadConfig()): Promise<T> {
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, 'stderr');
  let release = () => {};
  if (config.database.kind === 'embedded') {
    const claim = claimEmbeddedDatabase(config.dataDir, command);
    if (!claim.ok) {
      if (!claim.owner.socket) throw errors.embeddedDatabaseBusy(config.dataDir, claim.owner);
      return callEngine<T>(claim.owner.socket, work.remote.path, work.remote.body);
    }
    release = claim.release;
  }
  try {
    const services = await openServices(config, { log });
    try {
      return await work.local(services);
    } finally {
      await services.db.close();
    }
  } finally {
    release();
  }
}
