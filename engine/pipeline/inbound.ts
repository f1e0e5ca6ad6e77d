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
import { FlowRegistry } from '../flows/registry.ts';
import { continueConversation, startConversation, type RunResult } from '../flows/runtime.ts';
import type { Translator } from '../i18n.ts';
import type { Database, Sql } from '../store/database.ts';
import type { ContactView, ConversationState, Effect, Flow, InboundMessage, OutboundMessage } from '../types.ts';
import { applyEffect } from './effects.ts';
import { KeyedQueue } from './queue.ts';
import { sanitizeText } from './sanitize.ts';
import { triggerWords, type TriggerWords } from './triggers.ts';

export interface PipelineOptions {
  db: Database;
  flows: FlowRegistry;
  i18n: Translator;
  log: Logger;
  metrics: Metrics;
  maxInboundText: number;
  /** Called after replies were committed to the outbox (wakes the delivery worker). */
  onOutbox?: () => void;
}

export interface Accepted {
  duplicate: boolean;
  contactId: number;
  messageId?: number;
}

interface ContactRow {
  id: number;
  name: string | null;
  language: string | null;
  timezone: string | null;
  fields: Record<string, unknown>;
}

interface ConversationRow {
  id: number;
  flow: string;
  flow_version: string;
  step: string;
  vars: Record<string, unknown>;
  answers: Record<string, unknown>;
  retries: number;
  expires_at: Date | null;
  version: number;
}

interface MessageRow {
  id: number;
  channel: string;
  address: string;
  text: string | null;
  payload: { choice?: string; start?: string; languageHint?: string } | null;
}

interface IdentityRow {
  channel: string;
  address: string;
  stopped_at: Date | null;
}

interface Reply {
  message: OutboundMessage;
  kind: 'reply' | 'notice';
}

/** Transactions that lost a race PostgreSQL could not order are run again. */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);
const MAX_TRANSACTION_ATTEMPTS = 3;

export class InboundPipeline {
  private readonly queue = new KeyedQueue<number>((contactId) => this.processContact(contactId));
  /** What each Turn reads: the options, plus the STOP/START words. */
  readonly deps: PipelineOptions & { triggers: TriggerWords };

  constructor(private readonly options: PipelineOptions) {
    this.deps = { ...options, triggers: triggerWords(options.i18n) };
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
    const accepted = await db.transaction(async (tx) => {
      const contactId = await findOrCreateContact(tx, message);
      const [row] = await tx.query<{ id: number }>(
        `insert into messages (contact_id, direction, channel, address, channel_message_id, text, payload, status, created_at)
         values ($1, 'in', $2, $3, $4, $5, $6::jsonb, 'received', $7)
         on conflict (channel, channel_message_id) where direction = 'in' do nothing
         returning id`,
        [contactId, message.channel, message.address, message.channelMessageId, text, JSON.stringify(payload), message.receivedAt],
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
    const [contact] = await tx.query<ContactRow>(`select id, name, language, timezone, fields from contacts where id = $1 for update`, [contactId]);
    if (!contact) return false;
    const messages = await tx.query<MessageRow>(
      `select id, channel, address, text, payload from messages where contact_id = $1 and direction = 'in' and status = 'received' order by id`,
      [contactId],
    );
    if (!messages.length) return false;
    const identities = await tx.query<IdentityRow>(`select channel, address, stopped_at from identities where contact_id = $1`, [contactId]);
    const active = await tx.query<ConversationRow>(
      `select id, flow, flow_version, step, vars, answers, retries, expires_at, version from conversations where contact_id = $1 and status = 'active'`,
      [contactId],
    );
    let conversation: ConversationRow | undefined = active[0];
    let wrote = false;
    for (const message of messages) {
      const identity = identities.find((row) => row.channel === message.channel && row.address === message.address);
      const turn: Turn = new Turn(this, tx, contact, identity, conversation, message);
      conversation = await turn.run();
      wrote = (await turn.writeReplies()) || wrote;
    }
    await tx.query(`update messages set status = 'processed', processed_at = now() where id = any($1::bigint[])`, [messages.map((message) => message.id)]);
    await tx.query(`update contacts set last_seen_at = now() where id = $1`, [contactId]);
    return wrote;
  }
}

/** One inbound message, handled with the contact locked. */
class Turn {
  private readonly replies: Reply[] = [];
  private conversationId: number | null;

  constructor(
    private readonly pipeline: InboundPipeline,
    private readonly tx: Sql,
    private readonly contact: ContactRow,
    private readonly identity: IdentityRow | undefined,
    private conversation: ConversationRow | undefined,
    private readonly message: MessageRow,
  ) {
    this.conversationId = conversation?.id ?? null;
  }

  /** Returns the contact's active conversation after this message. */
  async run(): Promise<ConversationRow | undefined> {
    const { triggers, i18n } = this.pipeline.deps;
    const text = this.message.text ?? '';
    const hint = this.message.payload?.languageHint;

    const stopLanguage = triggers.stop(text);
    if (stopLanguage) {
      if (!this.identity?.stopped_at) await this.stop(i18n.pickLanguage(this.contact.language, hint ?? stopLanguage));
      return this.conversation;
    }
    if (this.identity?.stopped_at) {
      const startLanguage = triggers.start(text);
      if (startLanguage) await this.restart(i18n.pickLanguage(this.contact.language, hint ?? startLanguage));
      // A stopped contact's messages are kept, and not answered.
      return this.conversation;
    }

    if (!this.contact.language && i18n.supports(hint)) {
      // Remember the language the channel reports, so that broadcasts reach them in it too;
      // a language the contact chooses later replaces it.
      await this.applyEffect({ kind: 'set_contact', field: 'language', value: hint });
    }
    const view = this.contactView(i18n.pickLanguage(this.contact.language, hint));
    const input = { text, choice: this.message.payload?.choice };
    const start = this.message.payload?.start;
    const startFlow = start ? this.pipeline.deps.flows.byStartPayload(start) : undefined;

    if (this.conversation && !startFlow) {
      const result = await this.continue(this.conversation, input, view);
      if (result) return this.finish(result.run, result.flow);
    }
    const flow = startFlow ?? this.pipeline.deps.flows.byFirstWord(text);
    if (!flow) {
      if (this.conversation) await this.endConversation('ended');
      this.say('reply', { text: i18n.render('common.fallback', view.language, { contact: view }) });
      return undefined;
    }
    if (this.conversation) await this.endConversation('ended');
    return this.finish(startConversation(flow, view, i18n), flow);
  }

  /** Continues the active conversation, or returns undefined when it cannot go on. */
  private async continue(conversation: ConversationRow, input: { text: string; choice?: string }, view: ContactView) {
    const { flows, i18n, log } = this.pipeline.deps;
    if (conversation.expires_at && conversation.expires_at.getTime() <= Date.now()) {
      await this.endConversation('expired');
      return undefined;
    }
    const flow = flows.get(conversation.flow, conversation.flow_version) ?? flows.get(conversation.flow);
    if (!flow || !flow.steps[conversation.step]) {
      log.warn({ contact: this.contact.id, flow: conversation.flow, step: conversation.step }, 'conversation ended: its flow or step no longer exists');
      await this.endConversation('ended');
      return undefined;
    }
    const state: ConversationState = {
      flow: conversation.flow,
      flowVersion: flow.version,
      step: conversation.step,
      status: 'waiting',
      vars: conversation.vars,
      answers: conversation.answers,
      retries: conversation.retries,
    };
    return { flow, run: continueConversation(flow, state, input, view, i18n) };
  }

  /** Applies a run's effects, queues its replies and stores the conversation. */
  private async finish(result: RunResult, flow: Flow): Promise<ConversationRow | undefined> {
    const { log } = this.pipeline.deps;
    for (const problem of result.problems) log.warn({ contact: this.contact.id, flow: flow.id }, problem);
    for (const effect of result.effects) await this.applyEffect(effect);
    for (const message of result.replies) this.say('reply', message);

    const { state } = result;
    const active = state.status === 'waiting';
    const status = active ? 'active' : 'completed';
    const expiresAt = active ? new Date(Date.now() + flow.expireSeconds * 1000) : null;
    // A conversation still open here is the one this run continued (starting ends it first).
    const continued = this.conversation;
    if (continued) {
      const rows = await this.tx.query<{ id: number }>(
        `update conversations set flow_version = $3, step = $4, status = $5, vars = $6::jsonb, answers = $7::jsonb, retries = $8,
                expires_at = $9, version = version + 1, updated_at = now()
         where id = $1 and version = $2 returning id`,
        [continued.id, continued.version, state.flowVersion, state.step, status, JSON.stringify(state.vars), JSON.stringify(state.answers), state.retries, expiresAt],
      );
      if (!rows.length) throw Object.assign(new Error(`conversation ${continued.id} was changed by someone else`), { code: '40001' });
      this.conversationId = continued.id;
    } else {
      const [row] = await this.tx.query<{ id: number }>(
        `insert into conversations (contact_id, flow, flow_version, step, status, vars, answers, retries, expires_at)
         values ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9) returning id`,
        [this.contact.id, state.flow, state.flowVersion, state.step, status, JSON.stringify(state.vars), JSON.stringify(state.answers), state.retries, expiresAt],
      );
      this.conversationId = row!.id;
    }
    if (!active) return undefined;
    return {
      id: this.conversationId!,
      flow: state.flow,
      flow_version: state.flowVersion,
      step: state.step,
      vars: state.vars,
      answers: state.answers,
      retries: state.retries,
      expires_at: expiresAt,
      version: continued ? continued.version + 1 : 1,
    };
  }

  private async endConversation(status: 'ended' | 'expired') {
    await this.tx.query(`update conversations set status = $2, version = version + 1, updated_at = now() where id = $1`, [this.conversation!.id, status]);
    this.conversation = undefined;
  }

  private async applyEffect(effect: Effect) {
    await applyEffect(this.tx, this.contact.id, this.message.channel, effect);
    if (effect.kind === 'set_contact' && effect.field === 'name') this.contact.name = effect.value as string;
    if (effect.kind === 'set_contact' && effect.field === 'language') this.contact.language = effect.value as string;
  }

  private async stop(language: string) {
    await this.tx.query(`update identities set stopped_at = now() where channel = $1 and address = $2`, [this.message.channel, this.message.address]);
    await applyEffect(this.tx, this.contact.id, this.message.channel, { kind: 'consent', status: 'withdrawn', source: 'stop' });
    if (this.conversation) await this.endConversation('ended');
    if (this.identity) this.identity.stopped_at = new Date();
    // The one message a stopped contact still gets: the confirmation.
    this.say('notice', { text: this.pipeline.deps.i18n.render('common.stopped', language, { contact: this.contactView(language) }) });
  }

  private async restart(language: string) {
    await this.tx.query(`update identities set stopped_at = null where channel = $1 and address = $2`, [this.message.channel, this.message.address]);
    await applyEffect(this.tx, this.contact.id, this.message.channel, { kind: 'consent', status: 'granted', source: 'start' });
    if (this.identity) this.identity.stopped_at = null;
    this.say('reply', { text: this.pipeline.deps.i18n.render('common.restarted', language, { contact: this.contactView(language) }) });
  }

  private say(kind: Reply['kind'], message: OutboundMessage) {
    if (!message.text && !message.choices?.length) return;
    this.replies.push({ kind, message });
  }

  private contactView(language: string): ContactView {
    return {
      id: this.contact.id,
      name: this.contact.name,
      language,
      timezone: this.contact.timezone,
      fields: this.contact.fields,
      channel: this.message.channel,
    };
  }

  /** Queues the replies on the channel the message came from, in one statement. */
  async writeReplies(): Promise<boolean> {
    if (!this.replies.length) return false;
    await this.tx.query(
      `insert into outbox (contact_id, conversation_id, reply_to, channel, address, kind, priority, body)
       select $1, $2, $3, $4, $5, reply->>'kind', 0, reply->'body'
       from jsonb_array_elements($6::jsonb) with ordinality as r(reply, n) order by n`,
      [
        this.contact.id,
        this.conversationId,
        this.message.id,
        this.message.channel,
        this.message.address,
        JSON.stringify(this.replies.map((reply) => ({ kind: reply.kind, body: reply.message }))),
      ],
    );
    return true;
  }
}

/** The contact behind (channel, address), created on first contact. Safe against a concurrent first contact. */
async function findOrCreateContact(tx: Sql, message: InboundMessage): Promise<number> {
  const find = () => tx.query<{ contact_id: number }>(`select contact_id from identities where channel = $1 and address = $2`, [message.channel, message.address]);
  const [existing] = await find();
  if (existing) return existing.contact_id;
  const [contact] = await tx.query<{ id: number }>(`insert into contacts default values returning id`);
  const [identity] = await tx.query<{ contact_id: number }>(
    `insert into identities (contact_id, channel, address, display_name) values ($1, $2, $3, $4)
     on conflict (channel, address) do nothing returning contact_id`,
    [contact!.id, message.channel, message.address, message.displayName ?? null],
  );
  if (identity) return identity.contact_id;
  // Someone else created this identity a moment ago: use theirs, drop ours.
  await tx.query(`delete from contacts where id = $1`, [contact!.id]);
  const [winner] = await find();
  return winner!.contact_id;
}
