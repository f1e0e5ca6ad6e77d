// Telegram end to end: the real telegraf bot inside a running engine, against a stand-in
// Bot API on 127.0.0.1 — long polling and webhook mode, buttons, deep links,
// redelivered updates, 429 and 403.
import { pino } from 'pino';
import { Engine } from '../engine/engine.ts';
import type { Config } from '../engine/config.ts';
import { toInbound, keyboard } from '../bots/telegram.ts';
import { FakeTelegram } from './helpers/fake-telegram.ts';
import { testConfig } from './helpers/services.ts';
import { waitFor } from './helpers/wait.ts';


function telegramConfig(fake: FakeTelegram, extra: Partial<Config> = {}): Config {
  return testConfig({ port: 0, telegram: { token: fake.token, apiRoot: fake.url, rateLimit: 30 }, ...extra });
}

const silent = pino({ level: 'silent' });

describe('telegram, long polling', () => {
  const fake = new FakeTelegram();
  let engine: Engine;
  beforeAll(async () => {
    await fake.start();
    engine = await Engine.start(telegramConfig(fake), { log: silent, watch: false });
  });
  afterAll(async () => {
    await engine?.stop();
    await fake.stop();
  });

  test('registers its commands in each language', () => {
    const menus = fake.calls.filter((call) => call.method === 'setMyCommands');
    expect(menus.map((call) => call.params.language_code ?? 'default').sort()).toEqual(['ar', 'default', 'fr', 'ru']);
    expect(menus.find((call) => call.params.language_code === 'ru')!.params.commands[1]).toEqual({ command: 'join', description: 'Присоединиться к движению' });
  });

  test('joining in Russian through buttons', async () => {
    const ivan = { id: 7001, first_name: 'Иван', language_code: 'ru' };
    fake.userSays(ivan, '/start');
    await waitFor(() => fake.sentTo(7001).length === 1);
    fake.userSays(ivan, 'Иван');
    await waitFor(() => fake.sentTo(7001).length === 2);
    expect(fake.sentTo(7001)[1]).toEqual({ text: 'На каком языке вам писать?', buttons: ['العربية', 'English', 'Français', 'Русский'] });
    fake.userPresses(ivan, 'c:ru');
    await waitFor(() => fake.sentTo(7001).length === 3);
    fake.userPresses(ivan, 'c:housing');
    await waitFor(() => fake.sentTo(7001).length === 4);
    fake.userPresses(ivan, 'c:yes');
    await waitFor(() => fake.sentTo(7001).length === 5);
    expect(fake.sentTo(7001).map((message) => message.text)).toEqual([
      'Добро пожаловать! Как вас зовут?',
      'На каком языке вам писать?',
      'Какие темы вам интересны? Ответьте одним или несколькими номерами, например: 1 3',
      'Спасибо, Иван. Можно присылать вам сюда новости и оповещения?',
      'Готово, Иван! Напишите СТОП в любой момент, чтобы отписаться.',
    ]);
    expect(fake.calls.filter((call) => call.method === 'answerCallbackQuery')).toHaveLength(3);
    const [contact] = await engine.services.db.query(
      `select c.name, c.language, i.display_name from contacts c join identities i on i.contact_id = c.id where i.channel = 'telegram' and i.address = '7001'`,
    );
    expect(contact).toEqual({ name: 'Иван', language: 'ru', display_name: 'Иван' });
  });

  test('an old button pressed later is answered gracefully', async () => {
    const user = { id: 7002, language_code: 'en' };
    fake.userPresses(user, 'c:maybe');
    await waitFor(() => fake.sentTo(7002).length === 1);
    expect(fake.sentTo(7002)[0]!.text).toMatch(/^Hello! Write JOIN/);
  });

  test('a deep link starts its flow', async () => {
    fake.userSays({ id: 7003, language_code: 'fr' }, '/start survey');
    await waitFor(() => fake.sentTo(7003).length === 1);
    expect(fake.sentTo(7003)[0]!.text).toBe('Quel sujet compte le plus pour vous dans notre quartier ?');
  });

  test('a redelivered update is processed once', async () => {
    const update = fake.userSays({ id: 7004, language_code: 'en' }, 'hello');
    await waitFor(() => fake.sentTo(7004).length === 1);
    fake.push({ message: update.message }, update.update_id);
    fake.userSays({ id: 7004, language_code: 'en' }, 'join');
    await waitFor(() => fake.sentTo(7004).length === 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fake.sentTo(7004).map((message) => message.text)).toEqual([expect.stringMatching(/^Hello! Write JOIN/), 'Welcome! What is your name?']);
  });

  test('two messages of one chat in one batch are handled in order', async () => {
    const user = { id: 7005, language_code: 'en' };
    fake.userSays(user, 'join');
    fake.userSays(user, 'Nadia');
    await waitFor(() => fake.sentTo(7005).length === 2);
    expect(fake.sentTo(7005).map((message) => message.text)).toEqual(['Welcome! What is your name?', 'Which language would you like us to write to you in?']);
  });

  test('a 429 is honoured: nothing is sent to Telegram before retry_after has passed', async () => {
    fake.fail('sendMessage', { status: 429, description: 'Too Many Requests: retry after 1', retry_after: 1 });
    const before = fake.calls.length;
    fake.userSays({ id: 7006, language_code: 'en' }, 'hello');
    await waitFor(() => fake.sentTo(7006).length === 2); // the refused call and the accepted one
    const sends = fake.calls.slice(before).filter((call) => call.method === 'sendMessage');
    expect(sends[1]!.at - sends[0]!.at).toBeGreaterThanOrEqual(1000);
  });

  test('403 "bot was blocked by the user" stops the contact on Telegram', async () => {
    fake.fail('sendMessage', { status: 403, description: 'Forbidden: bot was blocked by the user' });
    fake.userSays({ id: 7007, language_code: 'en' }, 'hello');
    await waitFor(() => fake.sentTo(7007).length === 1);
    const stopped = async () => (await engine.services.db.query(`select 1 from identities where channel = 'telegram' and address = '7007' and stopped_at is not null`)).length > 0;
    for (let i = 0; i < 200 && !(await stopped()); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await stopped()).toBe(true);
    // They are stopped now: what they write is kept, and not answered.
    fake.userSays({ id: 7007, language_code: 'en' }, 'join');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(fake.sentTo(7007)).toHaveLength(1);
  });

  test('the survey over Telegram: a button, a number, a comment', async () => {
    const user = { id: 7009, language_code: 'en' };
    fake.userSays(user, '/survey');
    await waitFor(() => fake.sentTo(7009).length === 1);
    expect(fake.sentTo(7009)[0]!.buttons).toEqual(['Housing', 'Public transport', 'Safety', 'Climate']);
    fake.userPresses(user, 'c:safety');
    await waitFor(() => fake.sentTo(7009).length === 2);
    fake.userSays(user, '7');
    await waitFor(() => fake.sentTo(7009).length === 3);
    fake.userSays(user, 'More light in the park');
    await waitFor(() => fake.sentTo(7009).length === 4);
    expect(fake.sentTo(7009).at(-1)!.text).toBe('Thank you for your answers, they really help us!');
  });

  test('RSVP over Telegram, with an event in the store', async () => {
    await engine.services.db.query(`insert into events (slug, title, starts_at, timezone, capacity) values ('tg-meetup', '{"en": "Meetup"}', '2031-01-10T18:00:00Z', 'Europe/London', 10)`);
    engine.services.pipeline.deps.flowData.invalidate();
    const user = { id: 7010, language_code: 'en' };
    fake.userSays(user, '/rsvp');
    await waitFor(() => fake.sentTo(7010).length === 1);
    expect(fake.sentTo(7010)[0]).toEqual({ text: 'Which event would you like to answer for?', buttons: ['Meetup — Friday, January 10 at 6:00 PM'] });
    fake.userPresses(user, 'c:tg-meetup');
    await waitFor(() => fake.sentTo(7010).length === 2);
    fake.userPresses(user, 'c:yes');
    await waitFor(() => fake.sentTo(7010).length === 4);
    expect(fake.sentTo(7010)[2]!.text).toMatch(/^You're confirmed for Meetup on Friday, January 10 at 6:00 PM. See you there! Add it to your calendar: http:\/\/[^/]+\/events\/tg-meetup.ics$/);
  });

  test('5xx answers are retried', async () => {
    fake.fail('sendMessage', { status: 502, description: 'Bad Gateway' }, 2);
    fake.userSays({ id: 7008, language_code: 'en' }, 'hello');
    await waitFor(() => fake.sentTo(7008).length === 3);
    const [row] = await engine.services.db.query(`select status, attempts from outbox where channel = 'telegram' and address = '7008'`);
    expect(row).toEqual({ status: 'sent', attempts: 3 });
  });
});

describe('telegram, webhook mode', () => {
  const fake = new FakeTelegram();
  let engine: Engine;
  const secret = 'webhook-secret-123';
  beforeAll(async () => {
    await fake.start();
    engine = await Engine.start(telegramConfig(fake, { telegram: { token: fake.token, apiRoot: fake.url, rateLimit: 30, webhookSecret: secret }, publicUrl: 'https://bot.example.org', publicUrlSet: true }), {
      log: silent,
      watch: false,
    });
  });
  afterAll(async () => {
    await engine?.stop();
    await fake.stop();
  });

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${engine.url}/telegram/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  test('sets the webhook with its secret token', () => {
    const call = fake.calls.find((candidate) => candidate.method === 'setWebhook')!;
    expect(call.params).toMatchObject({ url: 'https://bot.example.org/telegram/webhook', secret_token: secret });
  });

  test('a missing or wrong secret answers 401 and stores nothing', async () => {
    const update = { update_id: 1, message: { message_id: 1, date: 0, chat: { id: 8001, type: 'private' }, text: 'join' } };
    expect((await post(update)).status).toBe(401);
    expect((await post(update, { 'x-telegram-bot-api-secret-token': 'wrong' })).status).toBe(401);
    const [{ count }] = await engine.services.db.query<{ count: number }>(`select count(*)::int as count from messages where channel = 'telegram'`);
    expect(count).toBe(0);
  });

  test('an update is answered at once once stored, then the reply goes out', async () => {
    const update = { update_id: 2, message: { message_id: 2, date: Math.floor(Date.now() / 1000), chat: { id: 8002, type: 'private' }, from: { id: 8002, is_bot: false, first_name: 'Amina', language_code: 'ar' }, text: 'انضمام' } };
    const started = Date.now();
    const response = await post(update, { 'x-telegram-bot-api-secret-token': secret });
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1000);
    await waitFor(() => fake.sentTo(8002).length === 1);
    expect(fake.sentTo(8002)[0]!.text).toBe('أهلًا وسهلًا! ما اسمك؟');
    // Telegram delivering the same update again changes nothing.
    expect((await post(update, { 'x-telegram-bot-api-secret-token': secret })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fake.sentTo(8002)).toHaveLength(1);
  });

  test('the survey through the webhook, and an alert started for a Telegram contact', async () => {
    let updateId = 100;
    const from = { id: 8003, is_bot: false, first_name: 'Chloé', language_code: 'fr' };
    const say = (text: string) =>
      post({ update_id: updateId++, message: { message_id: updateId, date: Math.floor(Date.now() / 1000), chat: { id: 8003, type: 'private' }, from, text } }, { 'x-telegram-bot-api-secret-token': secret });
    const press = (data: string) =>
      post({ update_id: updateId++, callback_query: { id: `q${updateId}`, chat_instance: 'c', data, from, message: { message_id: 1, date: 0, chat: { id: 8003, type: 'private' } } } }, { 'x-telegram-bot-api-secret-token': secret });
    await say('/survey');
    await waitFor(() => fake.sentTo(8003).length === 1);
    await press('c:climate');
    await waitFor(() => fake.sentTo(8003).length === 2);
    await say('9');
    await waitFor(() => fake.sentTo(8003).length === 3);
    await say('Plus de pistes cyclables');
    await waitFor(() => fake.sentTo(8003).length === 4);
    expect(fake.sentTo(8003).at(-1)!.text).toBe('Merci pour vos réponses, elles nous aident beaucoup !');

    await engine.services.pipeline.startFlow({ channel: 'telegram', address: '8003' }, 'alert', { template: 'alert.sample_message', question_template: 'alert.sample_question' });
    await waitFor(() => fake.sentTo(8003).length === 6);
    expect(fake.sentTo(8003).slice(4)).toEqual([
      { text: "Important : la marche part à 18 h de la mairie. Prenez de l'eau !" },
      { text: 'Pouvez-vous venir ?', buttons: ['Oui', 'Non'] },
    ]);
    await press('c:yes');
    await waitFor(() => fake.sentTo(8003).length === 7);
    expect(fake.sentTo(8003).at(-1)!.text).toBe('Merci pour votre réponse !');
  });

  test('a body that is not an update answers 400', async () => {
    const response = await fetch(`${engine.url}/telegram/webhook`, { method: 'POST', headers: { 'x-telegram-bot-api-secret-token': secret }, body: 'not json' });
    expect(response.status).toBe(400);
  });
});

describe('tocsin start with TELEGRAM_BOT_TOKEN and TELEGRAM_API_ROOT', () => {
  test('the engine process talks to the Bot API it is pointed at', async () => {
    const { startEngine, exited } = await import('./helpers/cli.ts');
    const fake = new FakeTelegram();
    await fake.start();
    const engine = await startEngine({ DATABASE_URL: 'memory://', TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_ROOT: fake.url });
    try {
      await waitFor(() => engine.output().includes('channel telegram: on (long polling)'));
      fake.userSays({ id: 9001, language_code: 'fr' }, '/start');
      await waitFor(() => fake.sentTo(9001).length === 1, 20_000);
      expect(fake.sentTo(9001)[0]!.text).toBe('Bienvenue ! Comment vous appelez-vous ?');
    } finally {
      engine.child.kill('SIGTERM');
      expect(await exited(engine.child)).toBe(0);
      await fake.stop();
    }
  }, 60_000);
});

describe('telegram mapping', () => {
  test('updates become inbound messages: text, commands, deep links, buttons', () => {
    const from = { id: 5, is_bot: false, first_name: 'Omar', last_name: 'K', language_code: 'fr-CA' };
    const message = (text: string) => ({ update_id: 9, message: { message_id: 1, date: 1_800_000_000, chat: { id: 5, type: 'private' as const, first_name: 'Omar' }, from, text } });
    expect(toInbound(message('bonjour') as any)).toMatchObject({ channel: 'telegram', address: '5', channelMessageId: 'u9', text: 'bonjour', languageHint: 'fr-CA', displayName: 'Omar K' });
    expect(toInbound(message('/start') as any)).toMatchObject({ text: '', start: 'subscribe' });
    expect(toInbound(message('/start rsvp') as any)).toMatchObject({ text: '', start: 'rsvp' });
    expect(toInbound(message('/join@tocsin_bot') as any)).toMatchObject({ text: 'join' });
    const press = { update_id: 10, callback_query: { id: 'q', chat_instance: 'c', data: 'c:yes', from, message: { message_id: 1, date: 0, chat: { id: 5, type: 'private' } } } };
    expect(toInbound(press as any)).toMatchObject({ address: '5', choice: 'yes', text: '' });
    expect(toInbound({ update_id: 11, edited_message: {} } as any)).toBeUndefined();
  });

  test('buttons carry the choice id within 64 bytes, or its number', () => {
    const long = 'x'.repeat(70);
    expect(keyboard([{ id: 'yes', label: 'Yes' }, { id: 'no', label: 'No' }, { id: long, label: 'Long one' }])).toEqual([
      [{ text: 'Yes', callback_data: 'c:yes' }, { text: 'No', callback_data: 'c:no' }],
      [{ text: 'Long one', callback_data: 'n:3' }],
    ]);
  });
});
