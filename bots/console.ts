// The console channel: `tocsin chat` talks to the flows from a terminal. Its identities
// are `console:<user>`. A reply is delivered to the terminal session attached to that
// user; replies that find no terminal wait in the outbox until the user comes back.
import { randomUUID } from 'node:crypto';
import type { DeliveryWorker } from '../engine/delivery/worker.ts';
import type { InboundPipeline } from '../engine/pipeline/inbound.ts';
import type { Sql } from '../engine/store/database.ts';
import type { Channel, OutboundMessage } from './channel.ts';
import { retryAfter, sent } from './channel.ts';

export const CONSOLE = 'console';
/** How long a reply for a user with no terminal attached waits before it is tried again. */
const DETACHED_RETRY_SECONDS = 60;

export class ConsoleChannel implements Channel {
  readonly name = CONSOLE;
  readonly capabilities = { buttons: false, maxTextLength: 4000, ratePerSecond: Infinity };
  private readonly terminals = new Map<string, (message: OutboundMessage) => void>();
  private sequence = 0;

  async start() {}

  async stop() {
    this.terminals.clear();
  }

  async send(address: string, message: OutboundMessage) {
    const terminal = this.terminals.get(address);
    if (!terminal) return retryAfter(`no terminal attached for console:${address}`, DETACHED_RETRY_SECONDS);
    terminal(message);
    return sent(`console-${++this.sequence}`);
  }

  /** Routes replies for `address` to `terminal` until the returned function is called. */
  attach(address: string, terminal: (message: OutboundMessage) => void): () => void {
    this.terminals.set(address, terminal);
    return () => {
      if (this.terminals.get(address) === terminal) this.terminals.delete(address);
    };
  }
}

export interface ChatDependencies {
  db: Sql;
  pipeline: InboundPipeline;
  delivery: DeliveryWorker;
  console: ConsoleChannel;
}

/**
 * One person at a terminal. `open` delivers what waited for them; `say` sends one line
 * through the inbound pipeline and resolves with the bot's replies to it.
 */
export class ChatSession {
  constructor(
    private readonly deps: ChatDependencies,
    readonly user: string,
    private readonly language?: string,
  ) {}

  async open(): Promise<OutboundMessage[]> {
    return this.collect([]);
  }

  async say(text: string): Promise<OutboundMessage[]> {
    const { replyIds } = await this.deps.pipeline.handle({
      channel: CONSOLE,
      address: this.user,
      channelMessageId: randomUUID(),
      text,
      languageHint: this.language,
      displayName: this.user,
      receivedAt: new Date(),
    });
    return this.collect(replyIds);
  }

  /** Starts a flow for this user as a broadcast would (no message from them), with `vars`. */
  async start(flow: string, vars: Record<string, unknown> = {}): Promise<OutboundMessage[]> {
    return this.collect(await this.deps.pipeline.startFlow({ channel: CONSOLE, address: this.user, displayName: this.user }, flow, vars));
  }

  /**
   * Delivers `ids` to this terminal — and first whatever else waits for this user (sent
   * while no terminal was attached): a contact's messages leave in order.
   */
  private async collect(ids: number[]): Promise<OutboundMessage[]> {
    const waiting = await this.deps.db.query<{ id: number }>(
      `update outbox set next_attempt_at = now() where channel = $1 and address = $2 and status = 'pending' returning id`,
      [CONSOLE, this.deps.db.cipher.index(CONSOLE, this.user)],
    );
    ids = [...new Set([...waiting.map((row) => row.id), ...ids])].sort((a, b) => a - b);
    if (!ids.length) return [];
    const received: OutboundMessage[] = [];
    const detach = this.deps.console.attach(this.user, (message) => received.push(message));
    try {
      await this.deps.delivery.deliver(ids);
    } finally {
      detach();
    }
    return received;
  }
}
