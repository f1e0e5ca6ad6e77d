// One inbound message, handled inside the pipeline's transaction with the contact's row
// locked: STOP/START, then the flow (continue the conversation, or start one by
// deep link or keyword), then its effects, state and replies written to the store.
import { describe } from '../errors.ts';
import { formatNumber } from '../format.ts';
import { continueConversation, startConversation, type RunEnvironment, type RunResult } from '../flows/runtime.ts';
import { loadFlowVersion } from '../flows/versions.ts';
import type { Cipher } from '../store/cipher.ts';
import type { Sql } from '../store/database.ts';
import { recordRsvp, type RsvpOutcome } from '../store/rsvps.ts';
import type { ContactView, ConversationState, Effect, Flow, OutboundMessage } from '../types.ts';
import { applyEffect } from './effects.ts';
import type { TurnDependencies } from './inbound.ts';

export interface ContactRow {
  id: number;
  name: string | null;
  language: string | null;
  timezone: string | null;
  fields: Record<string, unknown>;
}

export interface ConversationRow {
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

export interface MessageRow {
  /** Null when the turn was not started by a message (a broadcast starting a flow). */
  id: number | null;
  channel: string;
  address: string;
  text: string | null;
  payload: { choice?: string; start?: string; languageHint?: string } | null;
}

export interface IdentityRow {
  channel: string;
  address: string;
  stopped_at: Date | null;
}

/** Answers typed freely are sealed with TOCSIN_ENCRYPTION_KEY; choices, numbers and dates stay countable. */
export const FREE_TEXT_ANSWERS = new Set(['text', 'email', 'phone']);

/** Opens what the store sealed: a contact's name and custom fields. */
export function openContact(cipher: Cipher, row: ContactRow): ContactRow {
  return { ...row, name: cipher.open(row.name), fields: cipher.openFields(row.fields) };
}

/** Opens a conversation's sealed variables and answers. */
export function openConversation(cipher: Cipher, row: ConversationRow): ConversationRow {
  return { ...row, vars: cipher.openJson(row.vars), answers: cipher.openJson(row.answers) };
}

interface Reply {
  message: OutboundMessage;
  kind: 'reply' | 'notice';
}

/** Outbox rows for someone else than the sender (a promoted RSVP, the organizers, a webhook). */
interface OtherRow {
  contactId: number;
  channel: string;
  address: string;
  kind: 'notice' | 'webhook';
  body: OutboundMessage;
}

export class Turn {
  private replies: Reply[] = [];
  private readonly others: OtherRow[] = [];
  private conversationId: number | null;

  constructor(
    private readonly deps: TurnDependencies,
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
    const { triggers, i18n, flows } = this.deps;
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

    const hinted = hint ? i18n.pickLanguage(null, hint) : undefined;
    if (!this.contact.language && hint && hinted && hint.toLowerCase().startsWith(hinted)) {
      // Remember the language the channel reports (fr-CA → fr), so that broadcasts reach
      // them in it too; a language the contact chooses later replaces it.
      await this.applyEffect({ kind: 'set_contact', field: 'language', value: hinted });
    }
    const view = this.contactView(i18n.pickLanguage(this.contact.language, hint));
    const env = await this.environment(view.language);
    const input = { text, choice: this.message.payload?.choice };
    const start = this.message.payload?.start;
    const startFlow = start ? flows.byStartPayload(start) : undefined;

    if (this.conversation && !startFlow) {
      const result = await this.continue(this.conversation, input, view, env);
      if (result) return this.finish(result);
    }
    const flow = startFlow ?? flows.byFirstWord(text);
    if (this.conversation) await this.endConversation('ended');
    if (!flow) {
      this.say('reply', { text: i18n.render('common.fallback', view.language, { contact: view }) });
      return undefined;
    }
    return this.finish(startConversation(flow, view, env));
  }

  /** Starts `flow` for this contact without a message from them (a broadcast, an organizer). */
  async begin(flow: Flow, vars: Record<string, unknown>): Promise<void> {
    if (this.identity?.stopped_at) return;
    const view = this.contactView(this.deps.i18n.pickLanguage(this.contact.language));
    if (this.conversation) await this.endConversation('ended');
    await this.finish(startConversation(flow, view, await this.environment(view.language), vars));
  }

  private async environment(language: string): Promise<RunEnvironment> {
    return { i18n: this.deps.i18n, flows: this.deps.flows, data: await this.deps.flowData.forLanguage(this.tx, language) };
  }

  /** Continues the active conversation, or returns undefined when it cannot go on. */
  private async continue(conversation: ConversationRow, input: { text: string; choice?: string }, view: ContactView, env: RunEnvironment): Promise<RunResult | undefined> {
    const { log } = this.deps;
    if (conversation.expires_at && conversation.expires_at.getTime() <= Date.now()) {
      await this.endConversation('expired');
      return undefined;
    }
    const flow = await this.flowVersion(conversation.flow, conversation.flow_version);
    if (!flow || !flow.steps[conversation.step]) {
      log.warn({ contact: this.contact.id, flow: conversation.flow, step: conversation.step }, 'conversation ended: its flow or step no longer exists');
      await this.endConversation('ended');
      return undefined;
    }
    const state: ConversationState = {
      flow: flow.id,
      flowVersion: flow.version,
      step: conversation.step,
      status: 'waiting',
      vars: conversation.vars,
      answers: conversation.answers,
      retries: conversation.retries,
    };
    return continueConversation(flow, state, input, view, env);
  }

  /** The version a conversation started on: in memory, else from the store, else the current one. */
  private async flowVersion(id: string, version: string): Promise<Flow | undefined> {
    const { flows, log } = this.deps;
    const known = flows.get(id, version);
    if (known) return known;
    try {
      const stored = await loadFlowVersion(this.tx, id, version);
      if (stored) {
        flows.remember(stored);
        return stored;
      }
    } catch (error) {
      log.warn({ flow: id, version, error: describe(error) }, 'stored flow version could not be read; using the current one');
    }
    return flows.get(id);
  }

  /** Stores the conversation, applies the run's effects, queues its replies. */
  private async finish(result: RunResult): Promise<ConversationRow | undefined> {
    const { log } = this.deps;
    const { state, flow } = result;
    for (const problem of result.problems) log.warn({ contact: this.contact.id, flow: flow.id }, problem);

    const active = state.status === 'waiting';
    const status = active ? 'active' : 'completed';
    const expiresAt = active ? new Date(Date.now() + flow.expireSeconds * 1000) : null;
    // A conversation still open here is the one this run continued (starting ends it
    // first), unless a `goto` took it into another flow.
    const continued = this.conversation && this.conversation.flow === state.flow ? this.conversation : undefined;
    if (this.conversation && !continued) await this.endConversation('ended');
    if (continued) {
      const rows = await this.tx.query<{ id: number }>(
        `update conversations set flow_version = $3, step = $4, status = $5, vars = $6::jsonb, answers = $7::jsonb, retries = $8,
                expires_at = $9, version = version + 1, updated_at = now()
         where id = $1 and version = $2 returning id`,
        [continued.id, continued.version, state.flowVersion, state.step, status, ...this.sealedState(state), state.retries, expiresAt],
      );
      if (!rows.length) throw Object.assign(new Error(`conversation ${continued.id} was changed by someone else`), { code: '40001' });
      this.conversationId = continued.id;
    } else {
      const [row] = await this.tx.query<{ id: number }>(
        `insert into conversations (contact_id, flow, flow_version, step, status, vars, answers, retries, expires_at)
         values ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9) returning id`,
        [this.contact.id, state.flow, state.flowVersion, state.step, status, ...this.sealedState(state), state.retries, expiresAt],
      );
      this.conversationId = row!.id;
    }

    // Effects that answer (an RSVP's outcome) put their reply where the action stood.
    const replies: Reply[] = result.replies.map((message) => ({ kind: 'reply', message }));
    const inserted: { at: number; reply: Reply }[] = [];
    for (const effect of result.effects) {
      const reply = await this.applyEffect(effect, flow);
      if (reply && effect.kind === 'rsvp') inserted.push({ at: effect.replyAt, reply });
    }
    for (const { at, reply } of inserted.reverse()) replies.splice(at, 0, reply);
    for (const reply of replies) this.say(reply.kind, reply.message);

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

  /** A conversation's variables and answers as stored (sealed with TOCSIN_ENCRYPTION_KEY: they hold what people typed). */
  private sealedState(state: ConversationState): [string, string] {
    const { cipher } = this.tx;
    return [JSON.stringify(cipher.sealJson(state.vars)), JSON.stringify(cipher.sealJson(state.answers))];
  }

  private async endConversation(status: 'ended' | 'expired') {
    await this.tx.query(`update conversations set status = $2, version = version + 1, updated_at = now() where id = $1`, [this.conversation!.id, status]);
    this.conversation = undefined;
  }

  /** Applies one effect; returns a reply to the sender when the effect has one. */
  private async applyEffect(effect: Effect, flow?: Flow): Promise<Reply | undefined> {
    switch (effect.kind) {
      case 'rsvp':
        return this.rsvp(effect);
      case 'answer':
        await this.tx.query(
          `insert into survey_answers (contact_id, conversation_id, flow, question, type, value_text, value_number, value_choices)
           values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
           on conflict (contact_id, flow, question) do update set conversation_id = excluded.conversation_id, type = excluded.type,
             value_text = excluded.value_text, value_number = excluded.value_number, value_choices = excluded.value_choices, updated_at = now()`,
          [
            this.contact.id,
            this.conversationId,
            effect.flow,
            effect.question,
            effect.type,
            typeof effect.value === 'string' ? (FREE_TEXT_ANSWERS.has(effect.type) ? this.tx.cipher.seal(effect.value) : effect.value) : null,
            typeof effect.value === 'number' ? effect.value : null,
            Array.isArray(effect.value) ? JSON.stringify(effect.value) : null,
          ],
        );
        return undefined;
      case 'notify':
        this.deps.log.info({ contact: this.contact.id, channel: effect.channel }, "a note for the organizers was queued");
        this.others.push({ contactId: this.contact.id, channel: 'slack', address: effect.channel ?? '', kind: 'notice', body: { text: effect.text } });
        return undefined;
      case 'webhook':
        this.others.push({ contactId: this.contact.id, channel: 'webhook', address: effect.url, kind: 'webhook', body: { text: '', data: effect.body } });
        return undefined;
      default:
        await applyEffect(this.tx, this.contact.id, this.message.channel, effect);
        if (effect.kind === 'set_contact' && effect.field === 'name') this.contact.name = effect.value as string;
        if (effect.kind === 'set_contact' && effect.field === 'language') this.contact.language = effect.value as string;
        return undefined;
    }
  }

  private async rsvp(effect: Extract<Effect, { kind: 'rsvp' }>): Promise<Reply> {
    const { i18n } = this.deps;
    const outcome = await recordRsvp(this.tx, effect.event, this.contact.id, effect.answer);
    const language = i18n.pickLanguage(this.contact.language, this.message.payload?.languageHint);
    for (const contactId of 'promoted' in outcome ? outcome.promoted : []) await this.tellPromoted(contactId, outcome as Extract<RsvpOutcome, { promoted: number[] }>);
    const event = 'event' in outcome ? { ...eventData(outcome.event, language, i18n.defaultLanguage), ics: `${this.deps.publicUrl ?? ''}/events/${outcome.event.slug}.ics` } : undefined;
    const data = { contact: this.contactView(language), event };
    const key = `common.rsvp.${outcome.status}`;
    // Waiting lists tell how many people are ahead: the plural form follows that number.
    const ahead = outcome.status === 'waitlisted' ? outcome.position - 1 : 0;
    const text = outcome.status === 'waitlisted' ? i18n.render(key, language, { ...data, count: formatNumber(ahead, language) }, { count: ahead }) : i18n.render(key, language, data);
    return { kind: 'reply', message: { text } };
  }

  /** Someone got a seat from the waiting list: tell them at once, where they last wrote from. */
  private async tellPromoted(contactId: number, outcome: Extract<RsvpOutcome, { promoted: number[] }>) {
    const { i18n } = this.deps;
    const [target] = await this.tx.query<{ channel: string; address: string; language: string | null; name: string | null; timezone: string | null }>(
      `select i.channel, i.address, c.language, c.name, c.timezone from identities i join contacts c on c.id = i.contact_id
       left join lateral (select max(id) as last from messages m where m.contact_id = i.contact_id and m.channel = i.channel and m.direction = 'in') seen on true
       where i.contact_id = $1 and i.stopped_at is null order by seen.last desc nulls last limit 1`,
      [contactId],
    );
    if (!target) return;
    const language = i18n.pickLanguage(target.language);
    const contact = { id: contactId, name: this.tx.cipher.open(target.name), language, timezone: target.timezone, fields: {}, channel: target.channel };
    const text = i18n.render('common.rsvp.promoted', language, { contact, event: eventData(outcome.event, language, i18n.defaultLanguage) });
    this.others.push({ contactId, channel: target.channel, address: target.address, kind: 'notice', body: { text, language } });
  }

  private async stop(language: string) {
    await this.tx.query(`update identities set stopped_at = now() where channel = $1 and address = $2`, [this.message.channel, this.message.address]);
    await applyEffect(this.tx, this.contact.id, this.message.channel, { kind: 'consent', status: 'withdrawn', source: 'stop' });
    if (this.conversation) await this.endConversation('ended');
    if (this.identity) this.identity.stopped_at = new Date();
    // The one message a stopped contact still gets: the confirmation.
    this.say('notice', { text: this.deps.i18n.render('common.stopped', language, { contact: this.contactView(language) }) });
  }

  private async restart(language: string) {
    await this.tx.query(`update identities set stopped_at = null where channel = $1 and address = $2`, [this.message.channel, this.message.address]);
    await applyEffect(this.tx, this.contact.id, this.message.channel, { kind: 'consent', status: 'granted', source: 'start' });
    if (this.identity) this.identity.stopped_at = null;
    this.say('reply', { text: this.deps.i18n.render('common.restarted', language, { contact: this.contactView(language) }) });
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

  /** Queues the replies on the channel the message came from (and other rows), in one statement. Returns their outbox ids. */
  async writeReplies(): Promise<number[]> {
    const { cipher } = this.tx;
    const rows = [
      ...this.replies.map((reply) => ({ contact: this.contact.id, reply_to: this.message.id, channel: this.message.channel, address: this.message.address, kind: reply.kind, body: cipher.sealJson(reply.message) })),
      ...this.others.map((other) => ({ contact: other.contactId, reply_to: null, channel: other.channel, address: other.address, kind: other.kind, body: cipher.sealJson(other.body) })),
    ];
    if (!rows.length) return [];
    const inserted = await this.tx.query<{ id: number }>(
      `insert into outbox (contact_id, conversation_id, reply_to, channel, address, kind, priority, body)
       select (r->>'contact')::bigint, $1, (r->>'reply_to')::bigint, r->>'channel', r->>'address', r->>'kind', 0, r->'body'
       from jsonb_array_elements($2::jsonb) with ordinality as t(r, n) order by n
       returning id`,
      [this.conversationId, JSON.stringify(rows)],
    );
    return inserted.map((row) => row.id).sort((a, b) => a - b);
  }
}

/** An event as texts see it: `{{event.title}}`, `{{datetime event.starts_at timezone=event.timezone}}`. */
function eventData(event: { slug: string; title: Record<string, string>; starts_at: Date; timezone: string; place: string | null }, language: string, fallback: string) {
  return {
    slug: event.slug,
    title: event.title[language] ?? event.title[fallback] ?? Object.values(event.title)[0] ?? event.slug,
    starts_at: event.starts_at,
    timezone: event.timezone,
    place: event.place,
  };
}
