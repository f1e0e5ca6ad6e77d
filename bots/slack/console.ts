// The organizers' console in Slack: /alert (preview, confirm, progress, status, cancel),
// /rsvps, /results, /contacts. Only organizers may use it; everything they do is written
// to the audit log.
import type { App, RespondFn } from '@slack/bolt';
import { audit } from '../../engine/audit.ts';
import { BroadcastError, describeAudience, type AlertMessage, type Preview, type Progress } from '../../engine/broadcasts.ts';
import { describe, TocsinError } from '../../engine/errors.ts';
import { cancelEvent, createEvent } from '../../engine/events.ts';
import type { Logger } from '../../engine/log.ts';
import { surveyResults } from '../../engine/results.ts';
import { SegmentError } from '../../engine/segments.ts';
import type { Services } from '../../engine/services.ts';

const PROGRESS_EVERY_MS = 3000;
const REFUSAL = "Sorry, only the campaign's organizers can use this. Ask an organizer to add you.";

export interface ConsoleOptions {
  organizers: string[];
  /** Members of this channel are organizers too. */
  organizersChannel?: string;
  log: Logger;
  progressEveryMs?: number;
}

export class OrganizerConsole {
  private readonly tickers = new Map<number, NodeJS.Timeout>();

  constructor(
    private readonly app: App,
    private readonly services: () => Services,
    private readonly options: ConsoleOptions,
  ) {
    this.register();
  }

  /** Picks up the progress messages of broadcasts that were running when the engine stopped. */
  async resume() {
    const rows = await this.services().db.query<{ id: number; slack_channel: string; slack_ts: string }>(
      `select id, slack_channel, slack_ts from broadcasts where status = 'running' and slack_ts is not null`,
    );
    for (const row of rows) this.follow(row.id, row.slack_channel, row.slack_ts);
  }

  stop() {
    for (const timer of this.tickers.values()) clearInterval(timer);
    this.tickers.clear();
  }

  private async isOrganizer(user: string): Promise<boolean> {
    if (this.options.organizers.includes(user)) return true;
    if (!this.options.organizersChannel) return false;
    try {
      const members = await this.app.client.conversations.members({ channel: this.options.organizersChannel, limit: 1000 });
      return (members.members ?? []).includes(user);
    } catch (error) {
      this.options.log.warn({ error: describe(error) }, 'slack: could not read the organizers channel');
      return false;
    }
  }

  private register() {
    const guard = async (user: string, respond: RespondFn) => {
      if (await this.isOrganizer(user)) return true;
      await respond({ response_type: 'ephemeral', text: REFUSAL });
      return false;
    };

    this.app.command('/alert', async ({ command, ack, respond, client }) => {
      await ack();
      if (!(await guard(command.user_id, respond))) return;
      const text = command.text.trim();
      if (!text) {
        await client.views.open({ trigger_id: command.trigger_id, view: alertModal(command.channel_id) });
        return;
      }
      if (text === 'status') return void (await respond({ response_type: 'ephemeral', ...(await this.statusMessage()) }));
      if (text === 'cancel') return void (await respond({ response_type: 'ephemeral', text: await this.cancelLatest(command.user_id) }));
      const split = text.indexOf('|');
      if (split < 0) return void (await respond({ response_type: 'ephemeral', text: 'Write `/alert SEGMENT | MESSAGE`, for example `/alert group = volunteers | template:alert.sample_message`, or `/alert` alone for a form.' }));
      const segment = text.slice(0, split).trim();
      await this.prepare(command.user_id, command.channel_id, segment, parseMessage(text.slice(split + 1)), (message) => respond({ response_type: 'ephemeral', ...message }));
    });

    this.app.view('alert_form', async ({ ack, view, body, client }) => {
      await ack();
      const values = view.state.values;
      const segment = values.segment?.value?.value ?? 'everyone';
      const message = parseMessage(values.message?.value?.value ?? '');
      const question = values.question?.value?.value?.trim();
      if (question) message.question = question;
      const channel = view.private_metadata || body.user.id;
      await this.prepare(body.user.id, channel, segment, message, (reply) => client.chat.postEphemeral({ channel, user: body.user.id, ...reply }));
    });

    this.app.action('alert_confirm', async ({ ack, body, action, respond, client }) => {
      await ack();
      const user = body.user.id;
      const id = Number((action as { value?: string }).value);
      const [broadcast] = await this.services().db.query<{ created_by: string; status: string; segment: string }>(`select created_by, status, segment from broadcasts where id = $1`, [id]);
      if (!broadcast) return void (await respond({ response_type: 'ephemeral', replace_original: false, text: 'This alert no longer exists.' }));
      if (broadcast.created_by !== `slack:${user}`) {
        return void (await respond({ response_type: 'ephemeral', replace_original: false, text: `Only <@${broadcast.created_by.replace('slack:', '')}>, who prepared this alert, can confirm it.` }));
      }
      if (broadcast.status !== 'previewed') return void (await respond({ response_type: 'ephemeral', replace_original: false, text: `Alert #${id} is already ${broadcast.status}.` }));
      const recipients = await this.services().broadcasts.start(id);
      await audit(this.services().db, `slack:${user}`, 'alert.confirm', { broadcast: id, segment: broadcast.segment, recipients });
      await respond({ response_type: 'ephemeral', replace_original: true, text: `Confirmed: alert #${id} is being sent to ${recipients} contacts.` });
      const channel = (body as { channel?: { id: string } }).channel?.id ?? user;
      const posted = await client.chat.postMessage({ channel, text: `Alert #${id}: sending to ${recipients} contacts…` });
      await this.services().db.query(`update broadcasts set slack_channel = $2, slack_ts = $3 where id = $1`, [id, posted.channel, posted.ts]);
      this.follow(id, posted.channel!, posted.ts!);
    });

    this.app.action('alert_cancel', async ({ ack, body, action, respond }) => {
      await ack();
      const id = Number((action as { value?: string }).value);
      const [broadcast] = await this.services().db.query<{ created_by: string; status: string }>(`select created_by, status from broadcasts where id = $1`, [id]);
      if (broadcast?.status === 'previewed') await this.services().broadcasts.cancel(id);
      await audit(this.services().db, `slack:${body.user.id}`, 'alert.discard', { broadcast: id });
      await respond({ response_type: 'ephemeral', replace_original: true, text: `Alert #${id} was not sent.` });
    });

    this.app.command('/event', async ({ command, ack, respond, client }) => {
      await ack();
      if (!(await guard(command.user_id, respond))) return;
      const [verb, slug] = command.text.trim().split(/\s+/);
      if (!verb || verb === 'create') return void (await client.views.open({ trigger_id: command.trigger_id, view: eventModal(command.channel_id) }));
      if (verb === 'list') return void (await respond({ response_type: 'ephemeral', text: await this.rsvps('') }));
      if (verb === 'cancel' && slug) {
        try {
          const told = await this.services().db.transaction((tx) => cancelEvent(tx, slug, this.services().i18n));
          this.services().delivery.wake();
          await audit(this.services().db, `slack:${command.user_id}`, 'event.cancel', { event: slug, told });
          return void (await respond({ response_type: 'ephemeral', text: `Event \`${slug}\` cancelled; ${told} people are being told.` }));
        } catch (error) {
          return void (await respond({ response_type: 'ephemeral', text: error instanceof TocsinError ? error.message : describe(error) }));
        }
      }
      await respond({ response_type: 'ephemeral', text: 'Write `/event create` (a form), `/event list`, or `/event cancel SLUG`.' });
    });

    this.app.view('event_form', async ({ ack, view, body, client }) => {
      const values = view.state.values;
      const field = (block: string) => values[block]?.value?.value?.trim() || undefined;
      const capacity = field('capacity') ? Number(field('capacity')) : undefined;
      try {
        const event = await createEvent(
          this.services().db,
          { title: field('title') ?? '', start: field('start') ?? '', timezone: field('timezone') ?? '', capacity, place: field('place'), slug: field('slug') },
          this.services().i18n.defaultLanguage,
        );
        await ack();
        this.services().pipeline.deps.flowData.invalidate();
        await audit(this.services().db, `slack:${body.user.id}`, 'event.create', { event: event.id, slug: event.slug });
        const channel = view.private_metadata || body.user.id;
        await client.chat.postEphemeral({ channel, user: body.user.id, text: `Event *${event.title}* created (\`${event.slug}\`, ${event.start}). Supporters can answer with RSVP, or t.me/<bot>?start=rsvp.` });
      } catch (error) {
        if (!(error instanceof TocsinError)) throw error;
        // Shown under the form's fields, which stays open.
        await ack({ response_action: 'errors', errors: { start: error.message.slice(0, 150) } });
      }
    });

    this.app.command('/contacts', async ({ command, ack, respond }) => {
      await ack();
      if (!(await guard(command.user_id, respond))) return;
      const segment = command.text.trim() || 'everyone';
      try {
        const preview = await this.services().broadcasts.preview(segment, { text: '-' });
        await audit(this.services().db, `slack:${command.user_id}`, 'contacts.count', { segment, matching: preview.matching });
        await respond({ response_type: 'ephemeral', text: `*${segment}*: ${preview.matching} contacts, ${preview.recipients} reachable for alerts\n${audienceLines(preview)}` });
      } catch (error) {
        await respond({ response_type: 'ephemeral', text: userError(error) });
      }
    });

    this.app.command('/rsvps', async ({ command, ack, respond }) => {
      await ack();
      if (!(await guard(command.user_id, respond))) return;
      await audit(this.services().db, `slack:${command.user_id}`, 'rsvps.view', { event: command.text.trim() || null });
      await respond({ response_type: 'ephemeral', text: await this.rsvps(command.text.trim()) });
    });

    this.app.command('/results', async ({ command, ack, respond }) => {
      await ack();
      if (!(await guard(command.user_id, respond))) return;
      const flow = command.text.trim() || 'survey';
      const { db, flows, i18n } = this.services();
      const results = await surveyResults(db, flows, i18n, flow);
      await audit(db, `slack:${command.user_id}`, 'results.view', { flow });
      await respond({ response_type: 'ephemeral', text: `Results of ${flow}`, blocks: resultBlocks(flow, results) as never });
    });
  }

  /** The preview, with Confirm and Cancel; the broadcast is recorded, not started. */
  private async prepare(user: string, channel: string, segment: string, message: AlertMessage, reply: (message: { text: string; blocks?: unknown[] }) => Promise<unknown>) {
    const { broadcasts, db } = this.services();
    let preview: Preview;
    let id: number;
    try {
      preview = await broadcasts.preview(segment, message);
      id = await broadcasts.create(`slack:${user}`, segment, message);
    } catch (error) {
      await reply({ text: userError(error) });
      return;
    }
    await db.query(`update broadcasts set slack_channel = $2 where id = $1`, [id, channel]);
    await audit(db, `slack:${user}`, 'alert.preview', { broadcast: id, segment, recipients: preview.recipients });
    await reply({ text: `Alert #${id} to ${preview.recipients} contacts: confirm or cancel`, blocks: previewBlocks(id, preview) as never });
  }

  /** Keeps the broadcast's Slack message up to date, then writes the summary. */
  private follow(id: number, channel: string, ts: string) {
    if (this.tickers.has(id)) return;
    const every = this.options.progressEveryMs ?? PROGRESS_EVERY_MS;
    let last = '';
    const tick = async () => {
      try {
        const progress = await this.services().broadcasts.progress(id);
        if (!progress) return this.unfollow(id);
        const finished = progress.remaining === 0 || progress.status !== 'running';
        const text = progressText(progress, finished);
        if (text !== last) {
          await this.app.client.chat.update({ channel, ts, text });
          last = text;
        }
        if (finished) this.unfollow(id);
      } catch (error) {
        this.options.log.warn({ broadcast: id, error: describe(error) }, 'slack: progress update failed');
      }
    };
    this.tickers.set(id, setInterval(() => void tick(), every));
    void tick();
  }

  private unfollow(id: number) {
    clearInterval(this.tickers.get(id));
    this.tickers.delete(id);
  }

  private async statusMessage(): Promise<{ text: string }> {
    const id = await this.services().broadcasts.latest();
    if (!id) return { text: 'No alert has been sent yet.' };
    const progress = (await this.services().broadcasts.progress(id))!;
    return { text: progressText(progress, progress.status !== 'running' && progress.status !== 'previewed') };
  }

  private async cancelLatest(user: string): Promise<string> {
    const [row] = await this.services().db.query<{ id: number }>(`select id from broadcasts where status = 'running' order by id desc limit 1`);
    if (!row) return 'No alert is being sent right now.';
    const cancelled = await this.services().broadcasts.cancel(row.id);
    await audit(this.services().db, `slack:${user}`, 'alert.cancel', { broadcast: row.id, cancelled });
    return `Alert #${row.id} cancelled: ${cancelled} messages will not be sent.`;
  }

  private async rsvps(slug: string): Promise<string> {
    const { db, i18n } = this.services();
    if (!slug) {
      const events = await db.query<{ slug: string; title: Record<string, string>; starts_at: Date; yes: number; maybe: number; no: number; waiting: number; capacity: number | null }>(
        `select e.slug, e.title, e.starts_at, e.capacity,
                count(*) filter (where r.answer = 'yes' and r.waitlisted_at is null)::int as yes,
                count(*) filter (where r.answer = 'yes' and r.waitlisted_at is not null)::int as waiting,
                count(*) filter (where r.answer = 'maybe')::int as maybe,
                count(*) filter (where r.answer = 'no')::int as no
         from events e left join rsvps r on r.event_id = e.id
         where e.status = 'scheduled' and e.starts_at > now() group by e.id order by e.starts_at`,
      );
      if (!events.length) return 'No upcoming events.';
      return events
        .map((event) => `*${event.title[i18n.defaultLanguage] ?? Object.values(event.title)[0]}* (\`${event.slug}\`, ${event.starts_at.toISOString().slice(0, 16).replace('T', ' ')} UTC): ${event.yes} yes${event.capacity ? ` of ${event.capacity}` : ''}, ${event.waiting} waiting, ${event.maybe} maybe, ${event.no} no`)
        .join('\n');
    }
    const people = await db.query<{ name: string | null; answer: string; waiting: boolean }>(
      `select c.name, r.answer, r.waitlisted_at is not null as waiting from rsvps r join events e on e.id = r.event_id join contacts c on c.id = r.contact_id
       where e.slug = $1 order by r.answer, r.waitlisted_at nulls first, r.id`,
      [slug],
    );
    if (!people.length) return `No answers for \`${slug}\` (or no such event).`;
    const group = (label: string, rows: typeof people) => `*${label}* (${rows.length}): ${rows.map((row) => db.cipher.open(row.name) ?? 'unnamed').join(', ') || '—'}`;
    return [
      group('Yes', people.filter((row) => row.answer === 'yes' && !row.waiting)),
      group('Waiting list', people.filter((row) => row.answer === 'yes' && row.waiting)),
      group('Maybe', people.filter((row) => row.answer === 'maybe')),
      group('No', people.filter((row) => row.answer === 'no')),
    ].join('\n');
  }
}

/** `template:KEY` or text. */
export function parseMessage(text: string): AlertMessage {
  const trimmed = text.trim();
  const template = /^template:\s*(\S+)$/.exec(trimmed);
  return template ? { template: template[1] } : { text: trimmed };
}

function userError(error: unknown): string {
  if (error instanceof SegmentError) return `${error.message}:\n\`\`\`${error.pointer.split('\n')[0]}\n${' '.repeat(error.at)}^\`\`\``;
  if (error instanceof BroadcastError) return error.message;
  throw error;
}

function audienceLines(preview: Preview): string {
  return describeAudience(preview).join('\n');
}

function previewBlocks(id: number, preview: Preview): unknown[] {
  return [
    { type: 'section', text: { type: 'mrkdwn', text: `*Alert #${id}* to \`${preview.segment}\`: *${preview.recipients}* of ${preview.matching} matching contacts\n${audienceLines(preview)}` } },
    ...Object.entries(preview.messages).map(([language, text]) => ({ type: 'section', text: { type: 'mrkdwn', text: `*${language}*\n>${text.replaceAll('\n', '\n>')}` } })),
    {
      type: 'actions',
      elements: [
        { type: 'button', style: 'primary', action_id: 'alert_confirm', value: String(id), text: { type: 'plain_text', text: `Send to ${preview.recipients}` } },
        { type: 'button', style: 'danger', action_id: 'alert_cancel', value: String(id), text: { type: 'plain_text', text: 'Cancel' } },
      ],
    },
  ];
}

export function progressText(progress: Progress, finished: boolean): string {
  const channels = Object.entries(progress.byChannel)
    .map(([channel, counts]) => `${channel}: ${counts.sent} sent, ${counts.failed} failed, ${counts.remaining} remaining`)
    .join('; ');
  const head = finished
    ? `Alert #${progress.id} ${progress.status === 'cancelled' ? 'cancelled' : 'done'}: ${progress.sent} sent, ${progress.failed} failed, ${progress.cancelled} not sent, of ${progress.recipients}.`
    : `Alert #${progress.id}: ${progress.sent} sent, ${progress.failed} failed, ${progress.remaining} remaining, of ${progress.recipients}.`;
  return channels ? `${head}\n${channels}` : head;
}

function resultBlocks(flow: string, results: Awaited<ReturnType<typeof surveyResults>>): unknown[] {
  if (!results.length) return [{ type: 'section', text: { type: 'mrkdwn', text: `No answers to *${flow}* yet.` } }];
  return results.map((result) => {
    const lines = [`*${result.question}* (${result.type}), ${result.answered} answers`];
    if (result.numbers) lines.push(`mean ${result.numbers.mean}, min ${result.numbers.min}, max ${result.numbers.max}`);
    const width = Math.max(0, ...(result.options ?? []).map((option) => option.label.length));
    const bars = (result.options ?? []).map((option) => {
      const share = result.answered ? option.count / result.answered : 0;
      return `${option.label.padEnd(width)} ${'█'.repeat(Math.round(share * 20)).padEnd(20, '░')} ${option.count}`;
    });
    if (bars.length) lines.push(`\`\`\`${bars.join('\n')}\`\`\``);
    return { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } };
  });
}

/** A form; its submission comes back with `callbackId` and the channel it was opened from. */
function modal(callbackId: string, channel: string, title: string, submit: string, blocks: ReturnType<typeof textInput>[]) {
  return {
    type: 'modal' as const,
    callback_id: callbackId,
    private_metadata: channel,
    title: { type: 'plain_text' as const, text: title },
    submit: { type: 'plain_text' as const, text: submit },
    blocks,
  };
}

function eventModal(channel: string) {
  return modal('event_form', channel, 'New event', 'Create', [
    textInput('title', 'Title', 'Town hall meeting'),
    textInput('start', 'Starts (local time)', '2030-05-04T18:00'),
    textInput('timezone', 'Timezone', 'Europe/Paris'),
    textInput('place', 'Place', 'City hall, room 2', { optional: true }),
    textInput('capacity', 'Seats', '50 (empty: no limit)', { optional: true }),
    textInput('slug', 'Short name for links', 'town-hall', { optional: true }),
  ]);
}

function alertModal(channel: string) {
  return modal('alert_form', channel, 'New alert', 'Preview', [
    textInput('segment', 'Who', 'group = volunteers and language = ar   (or: everyone)'),
    textInput('message', 'Message', 'A text, or template:alert.sample_message', { multiline: true }),
    textInput('question', 'Yes/no question (optional)', 'Can you come?', { optional: true }),
  ]);
}

/** A form field; its value arrives as state.values[block].value.value. */
function textInput(block: string, label: string, placeholder: string, options: { optional?: boolean; multiline?: boolean } = {}) {
  return {
    type: 'input',
    block_id: block,
    optional: options.optional ?? false,
    label: { type: 'plain_text', text: label },
    element: { type: 'plain_text_input', action_id: 'value', multiline: options.multiline ?? false, placeholder: { type: 'plain_text', text: placeholder } },
  };
}
