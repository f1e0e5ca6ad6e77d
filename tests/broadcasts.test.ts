// Segments and broadcasts against the real store: the query language with its errors,
// previews per channel and language, materialization in one statement, STOP during a
// broadcast, cancelling, and answers to an alert's question.
import { ChatSession } from '../bots/console.ts';
import { compileSegment, parseSegment, SegmentError } from '../engine/segments.ts';
import { backends } from './helpers/database.ts';
import { FakeChannel } from './helpers/fake-channel.ts';
import { openTestServices, type TestServices } from './helpers/services.ts';

describe('segments', () => {
  test.each([
    ['group = volunteers and language = ar', '(exists (select 1 from memberships m join groups g on g.id = m.group_id where m.contact_id = c.id and g.name = $1) and coalesce(c.language, $2) = $3)', ['volunteers', 'en', 'ar']],
    ['city ~ "Kyiv"', '(c.fields ->> $1) ilike $2', ['city', '%Kyiv%']],
    ['rsvp = "town-hall" and not group = staff', "(exists (select 1 from rsvps r join events e on e.id = r.event_id where r.contact_id = c.id and e.slug = $1 and r.answer = 'yes') and (not exists (select 1 from memberships m join groups g on g.id = m.group_id where m.contact_id = c.id and g.name = $2)))", ['town-hall', 'staff']],
    ['last_seen < 30d', 'c.last_seen_at >= now() - make_interval(secs => $1)', [2592000]],
    ['everyone', 'true', []],
    ["(channel = telegram or channel = whatsapp) and name != \"x'; drop table contacts; --\"", "((exists (select 1 from identities i where i.contact_id = c.id and i.channel = $1 and i.stopped_at is null and i.held_at is null) or exists (select 1 from identities i where i.contact_id = c.id and i.channel = $2 and i.stopped_at is null and i.held_at is null)) and (not coalesce(c.name, '') = $3))", ['telegram', 'whatsapp', "x'; drop table contacts; --"]],
  ])('%s', (query, where, params) => {
    expect(compileSegment(parseSegment(query, ['city']), 'en')).toEqual({ where, params });
  });

  test.each([
    ['grup = volunteers', 'grup = volunteers\n^ unknown field "grup" (did you mean "group"?)'],
    ['group = volunteers and', 'group = volunteers and\n                      ^ the query ends too early: expected a field such as group, language or channel'],
    ['group volunteers', 'group volunteers\n      ^ expected =, !=, ~, < or > after "group"'],
    ['(group = a', '(group = a\n          ^ expected ")" here'],
    ['name = "unclosed', 'name = "unclosed\n       ^ this quote is never closed'],
    ['last_seen < soon', 'last_seen < soon\n            ^ "soon" is not a duration: write it like 12h, 30d or 2w'],
    ['group = a group = b', 'group = a group = b\n          ^ unexpected "group": join conditions with "and" or "or"'],
  ])('%s is refused with a caret', (query, pointer) => {
    try {
      parseSegment(query);
      throw new Error('parsed');
    } catch (error) {
      expect((error as SegmentError).pointer).toBe(pointer);
    }
  });
});

describe.each(backends)('broadcasts on $name', (backend) => {
  let services: TestServices;
  const telegram = new FakeChannel('telegram');
  beforeAll(async () => {
    services = await openTestServices(backend, { channels: [telegram], config: { telegram: { token: '1:x', apiRoot: 'http://127.0.0.1:9', rateLimit: 30 } } });
    // Supporters, as the flows would have left them.
    const people: [string, string, string, string | null, boolean, boolean][] = [
      // address, channel, name, language, consent, stopped
      ['t1', 'telegram', 'Ivan', 'ru', true, false],
      ['t2', 'telegram', 'Olga', 'ru', true, false],
      ['t3', 'telegram', 'Amina', 'ar', true, false],
      ['t4', 'telegram', 'Omar', null, true, false],
      ['t5', 'telegram', 'Nadia', 'fr', false, false],
      ['t6', 'telegram', 'Stopped', 'en', true, true],
      ['c1', 'console', 'Lina', 'en', true, false],
    ];
    for (const [address, channel, name, language, consent, stopped] of people) {
      const [{ id }] = await services.db.query<{ id: number }>(`insert into contacts (name, language) values ($1, $2) returning id`, [name, language]);
      await services.db.query(`insert into identities (contact_id, channel, address, stopped_at) values ($1, $2, $3, $4)`, [id, channel, address, stopped ? new Date() : null]);
      if (consent) await services.db.query(`insert into consents (contact_id, channel, status, source) values ($1, $2, 'granted', 'test')`, [id, channel]);
      await services.db.query(`insert into memberships (contact_id, group_id) select $1, id from groups where name = 'supporters'`, [id]).catch(() => {});
    }
    await services.db.query(`insert into groups (name) values ('volunteers')`);
    await services.db.query(`insert into memberships (contact_id, group_id) select c.id, g.id from contacts c, groups g where g.name = 'volunteers' and c.name in ('Ivan', 'Amina', 'Lina')`);
  });
  afterAll(() => services?.close());

  test('a preview counts per channel and language, says who is left out and why, and shows each language', async () => {
    const preview = await services.broadcasts.preview('everyone', { template: 'alert.sample_message' });
    expect(preview).toMatchObject({
      matching: 7,
      recipients: 5,
      byChannel: { telegram: 4, console: 1 },
      byLanguage: { ru: 2, ar: 1, en: 2 },
      excluded: { stopped: 1, noConsent: 1, noChannel: 0 },
    });
    expect(preview.messages.ru).toBe('Важно: марш начнётся в 18:00 у здания мэрии. Возьмите с собой воду!');
    expect(Object.keys(preview.messages).sort()).toEqual(['ar', 'en', 'ru']);
    expect((await services.broadcasts.preview('group = volunteers', { text: 'Hi {{contact.name}}' })).recipients).toBe(3);
  });

  test('start: every recipient queued once, in their language, with their name; a STOP meanwhile is honoured', async () => {
    const id = await services.broadcasts.create('cli', 'channel = telegram', { text: 'Hi {{contact.name}}, march at 6 pm.' });
    expect(await services.broadcasts.start(id)).toBe(4);
    expect(await services.broadcasts.start(id)).toBe(-1); // a second start does nothing
    // Olga says STOP before her message goes out.
    await services.db.query(`update identities set stopped_at = now() where address = 't2'`);
    services.delivery.start(['telegram']);
    for (let i = 0; i < 200 && (await services.broadcasts.progress(id))!.remaining > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    const progress = (await services.broadcasts.progress(id))!;
    expect(progress).toMatchObject({ status: 'done', recipients: 4, sent: 3, cancelled: 1, remaining: 0 });
    expect(telegram.sent.map((sent) => [sent.address, sent.message.text]).sort()).toEqual([
      ['t1', 'Hi Ivan, march at 6 pm.'],
      ['t3', 'Hi \u2068Amina\u2069, march at 6 pm.'],
      ['t4', 'Hi Omar, march at 6 pm.'],
    ]);
  });

  test('cancel stops what has not been sent', async () => {
    await services.delivery.stop();
    const id = await services.broadcasts.create('cli', 'everyone', { text: 'Second alert' });
    await services.broadcasts.start(id);
    expect(await services.broadcasts.cancel(id)).toBeGreaterThan(0);
    expect(await services.broadcasts.progress(id)).toMatchObject({ status: 'cancelled', sent: 0, remaining: 0 });
  });

  test('an alert with a question: the answer continues the alert flow and is recorded', async () => {
    const id = await services.broadcasts.create('cli', 'channel = console', { template: 'alert.sample_message', question: 'alert.sample_question' });
    expect(await services.broadcasts.start(id)).toBe(1);
    const session = new ChatSession(services, 'c1');
    expect((await session.open()).map((message) => message.text)).toEqual([
      'Important: the march starts at 6 pm at the town hall. Bring water!\n\nCan you come?\n1) Yes  2) No',
    ]);
    expect((await session.say('yes')).map((message) => message.text)).toEqual(['Thank you for your answer!']);
    const [answer] = await services.db.query(`select flow, question, value_text from survey_answers where contact_id = (select contact_id from identities where address = 'c1')`);
    expect(answer).toEqual({ flow: 'alert', question: 'response', value_text: 'yes' });
  });

  test('bad input: an unknown template, an empty message, a bad segment', async () => {
    await expect(services.broadcasts.preview('everyone', { template: 'alert.nope' })).rejects.toThrow('no text "alert.nope" in locales/');
    await expect(services.broadcasts.preview('everyone', { text: '  ' })).rejects.toThrow('an alert needs a message');
    await expect(services.broadcasts.preview('colour = red', { text: 'x' })).rejects.toThrow('unknown field "colour"');
  });
});
