// `tocsin start`: the services, plus the HTTP server, the channels' lifecycles, the
// delivery loops, the sweep for messages left unprocessed, and (on the embedded
// database) the local socket other commands go through. Stops gracefully.
import { rmSync } from 'node:fs';
import type { Config } from './config.ts';
import { errors, describe } from './errors.ts';
import { channelsFromConfig } from './channels.ts';
import { FlowWatcher } from './flows/watch.ts';
import { addObservabilityRoutes } from './http/observability.ts';
import { adminRoute } from './http/admin.ts';
import { addContactRoutes } from './http/contacts.ts';
import { addEventRoutes } from './http/events.ts';
import { addUnsubscribeRoutes } from './http/unsubscribe.ts';
import { sendJson } from './http/server.ts';
import type { WhatsAppChannel } from '../bots/whatsapp.ts';
import { localSocketPath, startLocalApi } from './http/local-api.ts';
import { HttpServer } from './http/server.ts';
import type { Logger } from './log.ts';
import { Scheduler } from './scheduler/index.ts';
import { openServices, type Services } from './services.ts';
import { claimEmbeddedDatabase } from './store/owner.ts';
import type { Channel, ChannelContext, InboundMessage } from './types.ts';

export interface EngineOptions {
  log: Logger;
  channels?: Channel[];
  /** Apply edits to flows/ and locales/ while running (default on). */
  watch?: boolean;
}

export class Engine {
  private stopped = false;
  readonly watcher: FlowWatcher;
  readonly scheduler: Scheduler;

  private constructor(
    readonly services: Services,
    readonly http: HttpServer,
    private readonly local: HttpServer | undefined,
    private readonly socket: string | undefined,
    private readonly releaseOwner: () => void,
  ) {
    this.watcher = new FlowWatcher(services);
    this.scheduler = new Scheduler(services);
  }

  static async start(config: Config, options: EngineOptions): Promise<Engine> {
    const { log } = options;
    let releaseOwner = () => {};
    let socket: string | undefined;
    if (config.database.kind === 'embedded') {
      socket = localSocketPath(config.dataDir);
      const claim = claimEmbeddedDatabase(config.dataDir, 'start', socket);
      if (!claim.ok) throw errors.embeddedDatabaseBusy(config.dataDir, claim.owner);
      releaseOwner = claim.release;
    }
    let services: Services | undefined;
    let http: HttpServer | undefined;
    let local: HttpServer | undefined;
    try {
      const extra = options.channels;
      services = await openServices(config, { log, channels: async (parts) => [...(await channelsFromConfig(parts)), ...(extra ?? [])], processMetrics: true });
      http = new HttpServer(log);
      addObservabilityRoutes(http, services.db, services.metrics, services.channels);
      addChannelAdminRoutes(http, config.adminToken, services.channels);
      addEventRoutes(http, services);
      addContactRoutes(http, services);
      if (config.email) addUnsubscribeRoutes(http, services, config.email.unsubscribeSecret);
      await http.listen(config.port, config.host);
      if (socket) local = await startLocalApi(services, socket);
    } catch (error) {
      await http?.close();
      await services?.db.close();
      releaseOwner();
      throw error;
    }
    const engine = new Engine(services, http, local, socket, releaseOwner);
    await engine.startWork();
    if (options.watch !== false) engine.watcher.start();
    return engine;
  }

  private async startWork() {
    const { pipeline, delivery, channels, log } = this.services;
    const context = { route: this.http.route.bind(this.http) };
    const onInbound = async (message: InboundMessage) => {
      const accepted = await pipeline.accept(message);
      if (!accepted.duplicate) {
        pipeline.process(accepted.contactId).catch((error) => log.error({ contact: accepted.contactId, error: describe(error) }, 'processing failed; the sweep will retry'));
      }
    };
    for (const channel of channels) await this.startChannel(channel, onInbound, context);
    // Console replies are delivered by the terminal session that waits for them.
    delivery.start(channels.filter((channel) => channel.name !== 'console').map((channel) => channel.name));
    // Messages a previous run accepted but did not process are handled now; then the schedule.
    await pipeline.sweep(0).catch((error) => log.error({ error: describe(error) }, 'inbound sweep failed'));
    void this.scheduler.run('reminders');
    await this.scheduler.start();
  }

  /** A channel that cannot start (its service is unreachable) is tried again, with backoff, without holding up the rest. */
  private async startChannel(channel: Channel, onInbound: (message: InboundMessage) => Promise<void>, context: ChannelContext, attempt = 1): Promise<void> {
    try {
      await channel.start(onInbound, context);
    } catch (error) {
      if (this.stopped) return;
      const delay = Math.min(5 * 60_000, 5000 * 2 ** (attempt - 1));
      this.services.log.error({ channel: channel.name, retryInMs: delay, error: describe(error) }, `channel ${channel.name} could not start; retrying`);
      const timer = setTimeout(() => void this.startChannel(channel, onInbound, context, attempt + 1), delay);
      timer.unref();
    }
  }

  get url(): string {
    return `http://${this.services.config.host}:${this.http.port}`;
  }

  /** Stops taking work, finishes what is under way, closes the database. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const { channels, pipeline, delivery, db, log } = this.services;
    await this.scheduler.stop();
    this.watcher.stop();
    await Promise.allSettled(channels.map((channel) => channel.stop()));
    await this.http.close();
    await this.local?.close();
    await pipeline.idle();
    await delivery.stop();
    await db.close();
    if (this.socket) rmSync(this.socket, { force: true });
    this.releaseOwner();
    log.info('engine stopped');
  }
}

/** GET /api/whatsapp/qr: the code to scan while WhatsApp waits to be linked. */
function addChannelAdminRoutes(http: HttpServer, adminToken: string | undefined, channels: Channel[]) {
  const whatsapp = channels.find((channel) => channel.name === 'whatsapp') as WhatsAppChannel | undefined;
  adminRoute(http, adminToken, 'GET', '/api/whatsapp/qr', (_request, response) => {
    if (!whatsapp) return sendJson(response, 404, { error: 'WhatsApp is off: set WHATSAPP_ENABLED=1' });
    sendJson(response, 200, { state: whatsapp.state, qr: whatsapp.qr ?? null });
  });
}
