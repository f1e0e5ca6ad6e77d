// The inbound pipeline, the same for every channel, in two transactions:
//
//   accept:  drop redeliveries (channel, message id) → find or create the contact by
//            identity → store the message as `received`. Webhooks answer after this.
//   process: lock the contact's row (FOR UPDATE: one person's messages never race, in
//            this process or another) → for each received message, in order: STOP/START
//            → run the flow → store state, effects and replies (the outbox) → commit.
//
// A message accepted but never processed (a crash between the two) is found by `sweep`.
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { FlowRegistry } from '../flows/registry.ts';
import type { Translator } from '../i18n.ts';
import type { Database, Sql } from '../store/database.ts';
import type { InboundMessage } from '../types.ts';
import { FlowDataCache } from './flow-data.ts';
import { KeyedQueue } from './queue.ts';
import { sanitizeText } from './sanitize.ts';
import { triggerWords, type TriggerWords } from './triggers.ts';
import { openContact, openConversation, Turn, type ContactRow, type ConversationRow, type IdentityRow, type MessageRow } from './turn.ts';

export interface PipelineOptions {
  db: Database;
  flows: FlowRegistry;
  i18n: Translator;
  log: Logger;
  metrics: Metrics;
  maxInboundText: number;
  /** For links in texts (an event's calendar file). */
  publicUrl?: string;
  /** Called after replies were committed to the outbox (wakes the delivery worker). */
  onOutbox?: () => void;
}

export interface TurnDependencies extends PipelineOptions {
  triggers: TriggerWords;
  flowData: FlowDataCache;
}

export interface Accepted {
  duplicate: boolean;
  contactId: number;
  messageId?: number;
}

/** Transactions that lost a race PostgreSQL could not order are run again. */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);
const MAX_TRANSACTION_ATTEMPTS = 3;

export class InboundPipeline {
  private readonly queue = new KeyedQueue<number>((contactId) => this.processContact(contactId));
  /** What each Turn reads: the options, the STOP/START words, the store's data for flows. */
  readonly deps: TurnDependencies;

  constructor(private readonly options: PipelineOptions) {
    this.deps = { ...options, triggers: triggerWords(options.i18n), flowData: new FlowDataCache(options.i18n.defaultLanguage) };
  }

  /** Languages or triggers changed (locales/ edited): recompute what is derived from them. */
  refreshTriggers() {
    this.deps.triggers = triggerWords(this.options.i18n);
  }

  /** Stores a message (or recognises a redelivery). Resolves once it is durable. */
  async accept(message: InboundMessage): Promise<Accepted> {
    const { db, metrics, log, maxInboundText } = this.options;
    const { text, truncated } = sanitizeText(message.text ?? '', maxInboundText);
    if (truncated) log.warn({ channel: message.channel, length: message.text!.length, kept: maxInboundText }, 'inbound text too long: truncated');
    const payload = {
      choice: message.choice,
      start: message.start,
      languageHint: message.languageHint,
    };
    const address = db.cipher.index(message.channel, message.address);
    const values = [message.channel, address, db.cipher.index(`${message.channel} message`, message.channelMessageId), db.cipher.seal(text), JSON.stringify(payload), message.receivedAt];
    // Someone we know (nearly always): one statement, atomic on its own — no transaction
    // to open and commit. A first contact takes the longer way, in a transaction.
    const [known] = await db.query<{ contact_id: number; id: number | null }>(
      `with sender as (select contact_id from identities where channel = $1 and address = $2),
            stored as (
              insert into messages (contact_id, direction, channel, address, channel_message_id, text, payload, status, created_at)
              select contact_id, 'in', $1, $2, $3, $4, $5::jsonb, 'received', $6 from sender
              on conflict (channel, channel_message_id) where direction = 'in' do nothing
              returning id)
       select sender.contact_id, (select id from stored) as id from sender`,
      values,
    );
    const accepted: Accepted = known
      ? { duplicate: known.id === null, contactId: known.contact_id, messageId: known.id ?? undefined }
      : await db.transaction(async (tx) => {
          const { contactId } = await findOrCreateContact(tx, message);
          const [row] = await tx.query<{ id: number }>(
            `insert into messages (contact_id, direction, channel, address, channel_message_id, text, payload, status, created_at)
             values ($7, 'in', $1, $2, $3, $4, $5::jsonb, 'received', $6)
             on conflict (channel, channel_message_id) where direction = 'in' do nothing
             returning id`,
            [...values, contactId],
          );
          return { duplicate: !row, contactId, messageId: row?.id };
        });
    (accepted.duplicate ? metrics.duplicates : metrics.inbound).inc({ channel: message.channel });
    return accepted;
  }

  /** Processes the contact's received messages; resolves once the replies are in the outbox. */
  process(contactId: number): Promise<void> {
    return this.queue.run(contactId);
  }

  /** accept + process: for adapters that can wait (the console). Returns the outbox ids of the replies. */
  async handle(message: InboundMessage): Promise<{ accepted: Accepted; replyIds: number[] }> {
    const accepted = await this.accept(message);
    if (accepted.duplicate) return { accepted, replyIds: [] };
    await this.process(accepted.contactId);
    const rows = await this.options.db.query<{ id: number }>(`select id from outbox where reply_to = $1 order by id`, [accepted.messageId]);
    return { accepted, replyIds: rows.map((row) => row.id) };
  }

  /**
   * Starts a flow for a contact who did not write (an alert, an organizer's action), on
   * the given channel; `vars` are the conversation's variables. Returns the outbox ids of
   * what the flow said (none when the contact is stopped on that channel).
   */
  async startFlow(target: Target, flowId: string, vars: Record<string, unknown> = {}): Promise<number[]> {
    const flow = this.options.flows.get(flowId);
    if (!flow) throw new Error(`no flow "${flowId}"`);
    const ids = await this.options.db.transaction(async (tx) => {
      const { contactId, address } = await findOrCreateContact(tx, target);
      const contact = await lockContact(tx, contactId);
      const [identity] = await tx.query<IdentityRow>(`select channel, address, stopped_at from identities where channel = $1 and address = $2`, [target.channel, address]);
      const conversation = await activeConversation(tx, contactId);
      const turn = new Turn(this.deps, tx, contact!, identity, conversation, { id: null, channel: target.channel, address, text: null, payload: null });
      await turn.begin(flow, vars);
      return turn.writeReplies();
    });
    if (ids.length) this.options.onOutbox?.();
    return ids;
  }

  /** Processes messages left received (a crash, another process that died) for longer than `olderThanMs`. */
  async sweep(olderThanMs: number): Promise<number> {
    const rows = await this.options.db.query<{ contact_id: number }>(
      `select distinct contact_id from messages
       where direction = 'in' and status = 'received' and created_at < now() - make_interval(secs => $1)
       limit 1000`,
      [olderThanMs / 1000],
    );
    await Promise.all(rows.map((row) => this.process(row.contact_id)));
    return rows.length;
  }

  /** Resolves when no processing is under way in this process. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private async processContact(contactId: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const wrote = await this.options.db.transaction((tx) => this.processLocked(tx, contactId));
        if (wrote) this.options.onOutbox?.();
        return;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (attempt >= MAX_TRANSACTION_ATTEMPTS || !code || !RETRYABLE_SQLSTATES.has(code)) throw error;
      }
    }
  }

  /** Inside the transaction, holding the contact's lock. Returns whether replies were written. */
  private async processLocked(tx: Sql, contactId: number): Promise<boolean> {
    const contact = await lockContact(tx, contactId);
    if (!contact) return false;
    // Read after the lock (never in the locking statement: its snapshot predates the wait,
    // and would show messages another process just handled as still waiting).
    const [pending] = await tx.query<{ messages: MessageRow[] | null; identities: (IdentityRow & { stopped_at: string | null })[]; conversation: ConversationRow | null }>(
      `select (select jsonb_agg(m order by m.id) from (select id, channel, address, text, payload from messages
                where contact_id = $1 and direction = 'in' and status = 'received') m) as messages,
              (select coalesce(jsonb_agg(i), '[]') from (select channel, address, stopped_at from identities where contact_id = $1) i) as identities,
              (select to_jsonb(v) from (select id, flow, flow_version, step, vars, answers, retries, expires_at, version
                from conversations where contact_id = $1 and status = 'active') v) as conversation`,
      [contactId],
    );
    const messages = pending!.messages ?? [];
    if (!messages.length) return false;
    for (const message of messages) message.text = tx.cipher.open(message.text);
    const identities = pending!.identities.map((row) => ({ ...row, stopped_at: row.stopped_at === null ? null : new Date(row.stopped_at) }));
    let conversation = pending!.conversation ? openConversation(tx.cipher, { ...pending!.conversation, expires_at: pending!.conversation.expires_at && new Date(pending!.conversation.expires_at) }) : undefined;
    let wrote = false;
    for (const message of messages) {
      const identity = identities.find((row) => row.channel === message.channel && row.address === message.address);
      const turn: Turn = new Turn(this.deps, tx, contact, identity, conversation, message);
      conversation = await turn.run();
      wrote = (await turn.writeReplies()).length > 0 || wrote;
    }
    await tx.query(
      `with processed as (update messages set status = 'processed', processed_at = now() where id = any($1::bigint[]))
       update contacts set last_seen_at = now() where id = $2`,
      [messages.map((message) => message.id), contactId],
    );
    return wrote;
  }
}

/**
 * Whom a flow is started for: an address as the channel knows it, or (`stored`) as the
 * store keeps it — its blind index with TOCSIN_ENCRYPTION_KEY — for someone already known.
 */
export type Target = { channel: string; address: string; displayName?: string; stored?: boolean };

/**
 * The contact behind (channel, address), created on first contact, and the address as
 * stored. Safe against a concurrent first contact.
 */
async function findOrCreateContact(tx: Sql, target: Target): Promise<{ contactId: number; address: string }> {
  const { cipher } = tx;
  const address = target.stored ? target.address : cipher.index(target.channel, target.address);
  const find = () => tx.query<{ contact_id: number }>(`select contact_id from identities where channel = $1 and address = $2`, [target.channel, address]);
  const [existing] = await find();
  if (existing) return { contactId: existing.contact_id, address };
  if (target.stored) throw new Error(`no ${target.channel} identity with this stored address`);
  const [contact] = await tx.query<{ id: number }>(`insert into contacts default values returning id`);
  const [identity] = await tx.query<{ contact_id: number }>(
    `insert into identities (contact_id, channel, address, address_sealed, display_name) values ($1, $2, $3, $4, $5)
     on conflict (channel, address) do nothing returning contact_id`,
    [contact!.id, target.channel, address, cipher.sealedAddress(target.address), cipher.seal(target.displayName ?? null)],
  );
  if (identity) return { contactId: identity.contact_id, address };
  // Someone else created this identity a moment ago: use theirs, drop ours.
  await tx.query(`delete from contacts where id = $1`, [contact!.id]);
  const [winner] = await find();
  return { contactId: winner!.contact_id, address };
}

/** The contact's row, locked for this transaction, with what was sealed opened. */
async function lockContact(tx: Sql, contactId: number): Promise<ContactRow | undefined> {
  const [contact] = await tx.query<ContactRow>(`select id, name, language, timezone, fields from contacts where id = $1 for update`, [contactId]);
  return contact && openContact(tx.cipher, contact);
}

async function activeConversation(tx: Sql, contactId: number): Promise<ConversationRow | undefined> {
  const [conversation] = await tx.query<ConversationRow>(
    `select id, flow, flow_version, step, vars, answers, retries, expires_at, version from conversations where contact_id = $1 and status = 'active'`,
    [contactId],
  );
  return conversation && openConversation(tx.cipher, conversation);
}
