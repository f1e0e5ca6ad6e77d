// Broadcasts: an alert to a segment. A preview counts the audience per channel and
// language, what is excluded and why, and shows the message in each language. Starting
// it materializes every recipient into the outbox with one INSERT … SELECT (no round trip
// per contact): each contact once, on the channel they last wrote from among those that
// are on and where they consented, in their language. Bulk rows go after replies; a
// contact who says STOP meanwhile gets nothing more (checked again at send time).
import type { FlowRegistry } from './flows/registry.ts';
import type { Translator } from './i18n.ts';
import { compileSegment, parseSegment } from './segments.ts';
import type { Database, Sql } from './store/database.ts';

export interface AlertMessage {
  /** An i18n key: each supporter reads it in their language. */
  template?: string;
  /** Free text (the same for everyone; `{{contact.name}}` is filled in per contact). */
  text?: string;
  /** A yes/no question after the message (a key or a text); the answers are recorded. */
  question?: string;
  /** Values for the templates: `{{vars.time}}`. */
  vars?: Record<string, string>;
  /** Sent even in quiet hours (night-time). */
  urgent?: boolean;
}

export interface Preview {
  segment: string;
  matching: number;
  recipients: number;
  byChannel: Record<string, number>;
  byLanguage: Record<string, number>;
  excluded: { stopped: number; noConsent: number; noChannel: number };
  /** The message as each language's recipients read it. */
  messages: Record<string, string>;
}

export interface Progress {
  id: number;
  status: string;
  recipients: number;
  sent: number;
  failed: number;
  cancelled: number;
  remaining: number;
  byChannel: Record<string, { sent: number; failed: number; remaining: number }>;
}

/** Channels that carry bulk messages to supporters (not the webhook or Slack ones). */
const NOT_FOR_SUPPORTERS = new Set(['webhook', 'slack']);

export class Broadcasts {
  constructor(
    private readonly deps: {
      db: Database;
      i18n: Translator;
      flows: FlowRegistry;
      /** The supporters' channels that are on. */
      channels: () => string[];
      onOutbox?: () => void;
    },
  ) {}

  /** Custom contact fields in use, for segment checks. */
  async customFields(sql: Sql = this.deps.db): Promise<string[]> {
    const rows = await sql.query<{ key: string }>(`select distinct jsonb_object_keys(fields) as key from contacts limit 500`);
    return rows.map((row) => row.key.toLowerCase());
  }

  async preview(segment: string, message: AlertMessage): Promise<Preview> {
    checkMessage(message, this.deps.i18n);
    const audience = await this.audience(segment);
    const rows = await this.deps.db.query<{ channel: string | null; language: string; state: string; count: number }>(
      `${audience.sql} select channel, language, state, count(*)::int as count from audience group by 1, 2, 3`,
      audience.params,
    );
    const preview: Preview = { segment, matching: 0, recipients: 0, byChannel: {}, byLanguage: {}, excluded: { stopped: 0, noConsent: 0, noChannel: 0 }, messages: {} };
    for (const row of rows) {
      preview.matching += row.count;
      if (row.channel) {
        preview.recipients += row.count;
        preview.byChannel[row.channel] = (preview.byChannel[row.channel] ?? 0) + row.count;
        preview.byLanguage[row.language] = (preview.byLanguage[row.language] ?? 0) + row.count;
      } else if (row.state === 'stopped') preview.excluded.stopped += row.count;
      else if (row.state === 'no_consent') preview.excluded.noConsent += row.count;
      else preview.excluded.noChannel += row.count;
    }
    const bodies = this.bodies(message);
    // The name is filled in per contact when sent; the preview shows where it goes.
    const shown = (language: string) => bodies[language]!.text.replaceAll('{{contact.name}}', '‹name›');
    for (const language of Object.keys(preview.byLanguage).sort()) preview.messages[language] = shown(language);
    if (!Object.keys(preview.messages).length) preview.messages[this.deps.i18n.defaultLanguage] = shown(this.deps.i18n.defaultLanguage);
    return preview;
  }

  /** Records a broadcast (not started). */
  async create(createdBy: string, segment: string, message: AlertMessage): Promise<number> {
    checkMessage(message, this.deps.i18n);
    parseSegment(segment, await this.customFields(), this.deps.db.cipher.enabled);
    const [row] = await this.deps.db.query<{ id: number }>(`insert into broadcasts (created_by, segment, message) values ($1, $2, $3::jsonb) returning id`, [
      createdBy,
      segment,
      JSON.stringify(message),
    ]);
    return row!.id;
  }

  /** Materializes the recipients into the outbox, in one transaction. Returns how many. */
  async start(id: number): Promise<number> {
    const recipients = await this.deps.db.transaction(async (tx) => {
      const [broadcast] = await tx.query<{ segment: string; message: AlertMessage; status: string }>(`select segment, message, status from broadcasts where id = $1 for update`, [id]);
      if (!broadcast) throw new Error(`no broadcast ${id}`);
      if (broadcast.status !== 'previewed') return -1;
      const audience = await this.audience(broadcast.segment, tx);
      const bodies = this.bodies(broadcast.message);
      const at = audience.params.length;
      const inserted = await tx.query<{ count: number }>(
        `${audience.sql}, queued as (
           insert into outbox (contact_id, channel, address, kind, priority, body, broadcast_id)
           select contact_id, channel, address, 'bulk', 1, ($${at + 1}::jsonb -> language) || jsonb_build_object('broadcast', $${at + 2}::bigint), $${at + 2}
           from audience where channel is not null
           returning contact_id)
         select count(*)::int as count from queued`,
        [...audience.params, JSON.stringify(bodies), id],
      );
      if (broadcast.message.question) await this.openQuestions(tx, id, audience);
      await tx.query(`update broadcasts set status = 'running', recipients = $2, started_at = now() where id = $1`, [id, inserted[0]!.count]);
      return inserted[0]!.count;
    });
    if (recipients > 0) this.deps.onOutbox?.();
    return recipients;
  }

  /** Stops what has not been sent yet. Returns how many messages were cancelled. */
  async cancel(id: number): Promise<number> {
    return this.deps.db.transaction(async (tx) => {
      const rows = await tx.query(`update outbox set status = 'cancelled', last_error = 'broadcast cancelled' where broadcast_id = $1 and status = 'pending' returning id`, [id]);
      await tx.query(`update broadcasts set status = 'cancelled', finished_at = now() where id = $1 and status in ('previewed', 'running')`, [id]);
      return rows.length;
    });
  }

  async progress(id: number): Promise<Progress | undefined> {
    const [broadcast] = await this.deps.db.query<{ status: string; recipients: number }>(`select status, recipients from broadcasts where id = $1`, [id]);
    if (!broadcast) return undefined;
    const rows = await this.deps.db.query<{ channel: string; status: string; count: number }>(
      `select channel, status, count(*)::int as count from outbox where broadcast_id = $1 group by 1, 2`,
      [id],
    );
    const progress: Progress = { id, status: broadcast.status, recipients: broadcast.recipients, sent: 0, failed: 0, cancelled: 0, remaining: 0, byChannel: {} };
    for (const row of rows) {
      const channel = (progress.byChannel[row.channel] ??= { sent: 0, failed: 0, remaining: 0 });
      if (row.status === 'sent') (progress.sent += row.count), (channel.sent += row.count);
      else if (row.status === 'failed') (progress.failed += row.count), (channel.failed += row.count);
      else if (row.status === 'cancelled') progress.cancelled += row.count;
      else (progress.remaining += row.count), (channel.remaining += row.count);
    }
    if (progress.status === 'running' && progress.remaining === 0) {
      await this.deps.db.query(`update broadcasts set status = 'done', finished_at = now() where id = $1 and status = 'running'`, [id]);
      progress.status = 'done';
    }
    return progress;
  }

  /** The newest broadcast (of `createdBy`, when given). */
  async latest(createdBy?: string): Promise<number | undefined> {
    const [row] = await this.deps.db.query<{ id: number }>(`select id from broadcasts where ($1::text is null or created_by = $1) order by id desc limit 1`, [createdBy ?? null]);
    return row?.id;
  }

  /**
   * The segment's contacts, each with the channel and address to reach them on (null when
   * none: `state` says why), and their language.
   */
  private async audience(segment: string, sql: Sql = this.deps.db) {
    const tree = parseSegment(segment, await this.customFields(sql), sql.cipher.enabled);
    const languages = this.deps.i18n.languages;
    const channels = this.deps.channels().filter((channel) => !NOT_FOR_SUPPORTERS.has(channel));
    const compiled = compileSegment(tree, this.deps.i18n.defaultLanguage, 4);
    const text = `with audience as (
        select c.id as contact_id,
               case when c.language = any($2::text[]) then c.language else $3 end as language,
               pick.channel, pick.address,
               case when pick.channel is not null then 'ok'
                    when exists (select 1 from identities i where i.contact_id = c.id and i.channel = any($1::text[]) and i.stopped_at is null and i.held_at is null) then 'no_consent'
                    when exists (select 1 from identities i where i.contact_id = c.id and i.channel = any($1::text[])) then 'stopped'
                    else 'no_channel' end as state
        from contacts c
        left join lateral (
          select i.channel, i.address from identities i
          where i.contact_id = c.id and i.stopped_at is null and i.held_at is null and i.channel = any($1::text[])
            and (select k.status from consents k where k.contact_id = c.id and k.channel = i.channel order by k.id desc limit 1) = 'granted'
          order by (select max(m.id) from messages m where m.contact_id = c.id and m.channel = i.channel and m.direction = 'in') desc nulls last, i.id
          limit 1) pick on true
        where c.status = 'active' and ${compiled.where})`;
    return { sql: text, params: [channels, languages, this.deps.i18n.defaultLanguage, ...compiled.params] };
  }

  /** A recipient answering the question continues the `alert` flow at its `ask` step. */
  private async openQuestions(tx: Sql, id: number, audience: { sql: string; params: unknown[] }) {
    const flow = this.deps.flows.get('alert');
    if (!flow?.steps.ask) return;
    const at = audience.params.length;
    await tx.query(
      `${audience.sql}, ended as (
         update conversations set status = 'ended', version = version + 1, updated_at = now()
         where status = 'active' and contact_id in (select contact_id from audience where channel is not null))
       insert into conversations (contact_id, flow, flow_version, step, status, vars, expires_at)
       select contact_id, 'alert', $${at + 1}, 'ask', 'active', jsonb_build_object('broadcast', $${at + 2}::bigint), now() + make_interval(secs => $${at + 3})
       from audience where channel is not null`,
      [...audience.params, flow.version, id, flow.expireSeconds],
    );
  }

  /** The outbox body in each language: the message, then the question with Yes/No. */
  private bodies(message: AlertMessage): Record<string, { text: string; choices?: { id: string; label: string }[]; language: string; urgent?: boolean }> {
    const { i18n } = this.deps;
    const bodies: Record<string, { text: string; choices?: { id: string; label: string }[]; language: string; urgent?: boolean }> = {};
    for (const language of i18n.languages) {
      // `{{contact.name}}` stays a placeholder here; it is filled in per contact when sent.
      const data = { contact: { name: '{{contact.name}}', language }, vars: message.vars ?? {} };
      const render = (textOrKey: string) => (i18n.exists(textOrKey) ? i18n.render(textOrKey, language, data) : i18n.render({ [language]: textOrKey }, language, data));
      const parts = [message.template ? render(message.template) : render(message.text ?? '')];
      if (message.question) parts.push(render(message.question));
      bodies[language] = {
        text: parts.filter(Boolean).join('\n\n'),
        language,
        ...(message.urgent ? { urgent: true } : {}),
        ...(message.question ? { choices: ['yes', 'no'].map((id) => ({ id, label: i18n.text(`common.${id}`, language) })) } : {}),
      };
    }
    return bodies;
  }
}

/** A preview's audience, for people: per channel, per language (largest first), who is left out. */
export function describeAudience(preview: Preview): string[] {
  const list = (counts: Record<string, number>) =>
    Object.entries(counts)
      .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
      .map(([key, count]) => `${key} ${count}`)
      .join(', ') || 'none';
  return [
    `by channel: ${list(preview.byChannel)}`,
    `by language: ${list(preview.byLanguage)}`,
    `left out: ${preview.excluded.stopped} stopped, ${preview.excluded.noConsent} without consent, ${preview.excluded.noChannel} not reachable`,
  ];
}

function checkMessage(message: AlertMessage, i18n: Translator) {
  if (!message.template && !message.text?.trim()) throw new BroadcastError('an alert needs a message: a text, or template:KEY');
  if (message.template && !i18n.exists(message.template)) throw new BroadcastError(`no text "${message.template}" in locales/ (template:KEY takes a key such as alert.sample_message)`);
}

export class BroadcastError extends Error {}
