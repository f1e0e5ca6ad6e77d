// The inbound pipeline against the real store: dedupe, per-contact locking, STOP, bad
// input, broken conversations, and state that survives a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatSession } from '../bots/console.ts';
import { renderResults } from '../engine/results.ts';
import { InboundPipeline } from '../engine/pipeline/inbound.ts';
import { pino } from 'pino';
import type { InboundMessage } from '../engine/types.ts';
import { backends, dropSchema } from './helpers/database.ts';
import { openTestServices, type TestServices } from './helpers/services.ts';

const FALLBACK = 'Hello! Write JOIN to join us, RSVP to see our upcoming events, or SURVEY to answer our survey.';
let sequence = 0;
const inbound = (address: string, text: string, extra: Partial<InboundMessage> = {}): InboundMessage => ({
  channel: 'console',
  address,
  channelMessageId: `m-${++sequence}`,
  text,
  receivedAt: new Date(),
  ...extra,
});

async function outboxTexts(services: TestServices, address: string): Promise<string[]> {
  const rows = await services.db.query<{ text: string }>(`select body->>'text' as text from outbox where address = $1 order by id`, [address]);
  return rows.map((row) => row.text);
}

describe.each(backends)('inbound pipeline on $name', (backend) => {
  let services: TestServices;
  beforeAll(async () => {
    services = await openTestServices(backend);
  });
  afterAll(() => services?.close());

  test('a redelivered message is processed once', async () => {
    const message = inbound('dedupe', 'join');
    const first = await services.pipeline.accept(message);
    const again = await services.pipeline.accept({ ...message, text: 'join (again)' });
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ duplicate: true, contactId: first.contactId, messageId: undefined });
    await services.pipeline.process(first.contactId);
    expect(await outboxTexts(services, 'dedupe')).toEqual(['Welcome! What is your name?']);
    const [{ count }] = await services.db.query<{ count: number }>(`select count(*)::int as count from messages where address = 'dedupe' and direction = 'in'`);
    expect(count).toBe(1);
  });

  test('two messages from one contact, handled by two pipelines at once, run one after the other', async () => {
    // A second pipeline on the same database stands for a second engine process.
    const other = new InboundPipeline({ db: services.db, flows: services.flows, i18n: services.i18n, log: pino({ level: 'silent' }), metrics: services.metrics, maxInboundText: 8000 });
    const join = await services.pipeline.accept(inbound('race', 'join'));
    const name = await other.accept(inbound('race', 'Nadia'));
    await Promise.all([services.pipeline.process(join.contactId), other.process(name.contactId), services.pipeline.process(join.contactId)]);
    expect(await outboxTexts(services, 'race')).toEqual(['Welcome! What is your name?', 'Which language would you like us to write to you in?']);
    const conversations = await services.db.query(`select step, status, version from conversations where contact_id = $1`, [join.contactId]);
    expect(conversations).toEqual([{ step: 'ask_language', status: 'active', version: 2 }]);
    const [contact] = await services.db.query(`select name from contacts where id = $1`, [join.contactId]);
    expect(contact).toEqual({ name: 'Nadia' });
  });

  test('many contacts at once, each in order', async () => {
    const people = Array.from({ length: 20 }, (_, i) => `crowd-${i}`);
    await Promise.all(people.map(async (person) => {
      for (const text of ['join', person]) {
        const accepted = await services.pipeline.accept(inbound(person, text));
        void services.pipeline.process(accepted.contactId);
      }
    }));
    await services.pipeline.idle();
    for (const person of people) {
      expect(await outboxTexts(services, person)).toEqual(['Welcome! What is your name?', 'Which language would you like us to write to you in?']);
    }
  });

  test("a regional language hint is remembered by its language (fr-CA → fr)", async () => {
    await new ChatSession(services, 'montreal', 'fr-CA').say('bonjour');
    const [contact] = await services.db.query(`select language from contacts where id = (select contact_id from identities where address = 'montreal')`);
    expect(contact).toEqual({ language: 'fr' });
  });

  test('strange and oversized text is stored safely', async () => {
    const strange = 'مرحبا \u200F👩🏽‍🚀 \u202Eevil\u202C \u0007 {{constructor}} <script>';
    const huge = 'x'.repeat(100_000);
    const session = new ChatSession(services, 'strange');
    expect(await session.say(strange)).toHaveLength(1);
    expect(await session.say(huge)).toHaveLength(1);
    expect(await session.say('nul\u0000byte')).toHaveLength(1);
    const rows = await services.db.query<{ text: string }>(`select text from messages where address = 'strange' and direction = 'in' order by id`);
    expect(rows.map((row) => row.text)).toEqual([strange, 'x'.repeat(8000), 'nul\uFFFDbyte']);
  });

  test('a conversation whose step no longer exists is ended, and the message still answered', async () => {
    const session = new ChatSession(services, 'orphan');
    await session.say('join');
    await services.db.query(`update conversations set step = 'removed_step' where status = 'active' and contact_id = (select contact_id from identities where address = 'orphan')`);
    expect((await session.say('hello')).map((reply) => reply.text)).toEqual([FALLBACK]);
    const rows = await services.db.query(`select status from conversations where contact_id = (select contact_id from identities where address = 'orphan') order by id`);
    expect(rows).toEqual([{ status: 'ended' }]);
  });

  test('an expired conversation ends quietly', async () => {
    const session = new ChatSession(services, 'late');
    await session.say('join');
    await services.db.query(`update conversations set expires_at = now() - interval '1 minute' where contact_id = (select contact_id from identities where address = 'late')`);
    expect((await session.say('Lina')).map((reply) => reply.text)).toEqual([FALLBACK]);
    const rows = await services.db.query(`select status from conversations where contact_id = (select contact_id from identities where address = 'late')`);
    expect(rows).toEqual([{ status: 'expired' }]);
  });

  test('the sweep processes messages accepted but never processed (a crash in between)', async () => {
    const accepted = await services.pipeline.accept(inbound('crashed', 'join'));
    expect(await outboxTexts(services, 'crashed')).toEqual([]);
    expect(await services.pipeline.sweep(0)).toBeGreaterThanOrEqual(1);
    expect(await outboxTexts(services, 'crashed')).toEqual(['Welcome! What is your name?']);
    const [message] = await services.db.query(`select status from messages where id = $1`, [accepted.messageId]);
    expect(message).toEqual({ status: 'processed' });
  });

  test('joining records the name, the language, the topics as groups and the consent; joining again updates them', async () => {
    const session = new ChatSession(services, 'joiner', 'fr');
    for (const text of ['rejoindre', 'Chloé', 'English', 'climate, education', 'yes']) await session.say(text);
    const profile = () =>
      services.db.query(
        `select c.name, c.language, array_agg(g.name order by g.name) as groups from contacts c join memberships m on m.contact_id = c.id join groups g on g.id = m.group_id
         where c.id = (select contact_id from identities where address = 'joiner') group by c.id`,
      );
    expect(await profile()).toEqual([{ name: 'Chloé', language: 'en', groups: ['climate', 'education', 'supporters'] }]);
    for (const text of ['join', 'Français', '1', 'oui']) await session.say(text);
    expect(await profile()).toEqual([{ name: 'Chloé', language: 'fr', groups: ['housing', 'supporters'] }]);
    const consents = await services.db.query(`select channel, status, source from consents where contact_id = (select contact_id from identities where address = 'joiner') order by id`);
    expect(consents).toEqual([
      { channel: 'console', status: 'granted', source: 'flow:subscribe' },
      { channel: 'console', status: 'granted', source: 'flow:subscribe' },
    ]);
    const [{ count }] = await services.db.query<{ count: number }>(`select count(*)::int as count from identities where address = 'joiner'`);
    expect(count).toBe(1);
  });

  test('survey answers are stored typed, per question; a keen volunteer is flagged to organizers', async () => {
    const session = new ChatSession(services, 'surveyed', 'ru');
    for (const text of ['опрос', '2', '٩', 'Больше автобусов']) await session.say(text);
    const answers = await services.db.query(
      `select question, type, value_text, value_number, value_choices from survey_answers
       where contact_id = (select contact_id from identities where address = 'surveyed') order by question`,
    );
    expect(answers).toEqual([
      { question: 'comment', type: 'text', value_text: 'Больше автобусов', value_number: null, value_choices: null },
      { question: 'priority', type: 'choice', value_text: 'transport', value_number: null, value_choices: null },
      { question: 'volunteer', type: 'number', value_text: null, value_number: 9, value_choices: null },
    ]);
    const notes = await services.db.query(`select channel, kind, body->>'text' as text from outbox where channel = 'slack'`);
    const [{ contact_id }] = await services.db.query(`select contact_id from identities where address = 'surveyed'`);
    // Organizers read it in the default language, whatever the supporter's.
    expect(notes).toEqual([{ channel: 'slack', kind: 'notice', text: `Contact #${contact_id} (console) rated 9/10 for volunteering and wrote: Больше автобусов` }]);

    // A second supporter answers; the results count both, per option, with labels in the default language.
    for (const text of ['survey', 'housing', '4', 'no']) await new ChatSession(services, 'surveyed-2', 'en').say(text);
    const { text } = await renderResults(services, 'survey', 'text');
    expect(text.split('\n').slice(0, 8)).toEqual([
      'priority (choice): 2 answers',
      '  Housing               1   50%  ██████████',
      '  Public transport      1   50%  ██████████',
      '  Safety                0    0%  ',
      '  Climate               0    0%  ',
      'volunteer (number): 2 answers',
      '  mean 6.5, min 4, max 9',
      'comment (text): 2 answers',
    ]);
    const csv = (await renderResults(services, 'survey', 'csv')).text.split('\n');
    expect(csv[0]).toBe('contact_id,question,type,value,answered_at');
    expect(csv.filter((line) => line.includes(',volunteer,number,'))).toHaveLength(2);
  });

  test('a broadcast-style start runs a flow for someone who did not write, unless they are stopped', async () => {
    const ids = await services.pipeline.startFlow({ channel: 'console', address: 'listener' }, 'alert', { text: 'March at 6 pm' });
    expect(ids).toHaveLength(1);
    // What waited for the terminal comes first, then the answer to what they typed.
    expect((await new ChatSession(services, 'listener').say('stop')).map((reply) => reply.text)).toEqual([
      'March at 6 pm',
      'You will not receive any more messages from us. Write START if you change your mind.',
    ]);
    expect(await services.pipeline.startFlow({ channel: 'console', address: 'listener' }, 'alert', { text: 'Again' })).toEqual([]);
  });
});

describe.each(backends)('restart on $name', (backend) => {
  test('a conversation continues after the engine restarts', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tocsin-restart-'));
    const config = backend.name === 'pglite' ? { database: { kind: 'embedded' as const, dataDir }, dataDir } : {};
    const first = await openTestServices(backend, { config });
    try {
      expect((await new ChatSession(first, 'returning').say('join')).map((reply) => reply.text)).toEqual(['Welcome! What is your name?']);
      await first.pipeline.idle();
      await first.db.close();
      const second = await openTestServices(backend, { config, schema: first.schema });
      try {
        expect((await new ChatSession(second, 'returning').say('Omar')).map((reply) => reply.text)).toEqual(['Which language would you like us to write to you in?\n1) العربية  2) English  3) Français  4) Русский']);
      } finally {
        await second.db.close();
      }
    } finally {
      if (backend.config.kind === 'postgres' && first.schema) await dropSchema(backend.config.url, first.schema);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
