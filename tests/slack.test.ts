// The organizers' console end to end: real HTTP requests to the running engine, signed as
// Slack signs them; a stand-in Slack Web API and response_url target recording calls;
// delivery observed on the stand-in Telegram.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Config } from '../engine/config.ts';
import { Engine } from '../engine/engine.ts';
import { FakeSlack, slackHeaders } from './helpers/fake-slack.ts';
import { FakeTelegram } from './helpers/fake-telegram.ts';
import { testConfig } from './helpers/services.ts';
import { waitFor } from './helpers/wait.ts';

const SECRET = 'slack-signing-secret';
const silent = pino({ level: 'silent' });


function config(slack: FakeSlack, telegram: FakeTelegram, extra: Partial<Config> = {}): Config {
  return testConfig({
    port: 0,
    telegram: { token: telegram.token, apiRoot: telegram.url, rateLimit: 50 },
    slack: { botToken: 'xoxb-test', signingSecret: SECRET, apiUrl: slack.apiUrl, organizers: ['UORG', 'UORG2'], notifyChannel: 'CNOTES' },
    ...extra,
  });
}

/** Supporters on Telegram, as the flows would have left them. */
async function seed(engine: Engine, people: [number, string, string][]) {
  for (const [chat, name, language] of people) {
    const [{ id }] = await engine.services.db.query<{ id: number }>(`insert into contacts (name, language) values ($1, $2) returning id`, [name, language]);
    await engine.services.db.query(`insert into identities (contact_id, channel, address) values ($1, 'telegram', $2)`, [id, String(chat)]);
    await engine.services.db.query(`insert into consents (contact_id, channel, status, source) values ($1, 'telegram', 'granted', 'test')`, [id]);
  }
}

function client(engine: Engine, slack: FakeSlack) {
  let responses = 0;
  const post = async (body: string, contentType: string, headers = slackHeaders(SECRET, body)) =>
    fetch(`${engine.url}/slack/events`, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });
  return {
    post,
    /** A slash command; returns the response_url id its answers go to. */
    async slash(command: string, text: string, user = 'UORG') {
      const respond = `r${++responses}`;
      const body = new URLSearchParams({ command, text, user_id: user, user_name: user, channel_id: 'CORG', team_id: 'T1', trigger_id: 'trigger-1', response_url: slack.responseUrl(respond), token: 'x', api_app_id: 'A1' }).toString();
      const started = Date.now();
      const response = await post(body, 'application/x-www-form-urlencoded');
      return { respond, status: response.status, ms: Date.now() - started };
    },
    async click(actionId: string, value: string, user = 'UORG') {
      const respond = `r${++responses}`;
      const payload = JSON.stringify({
        type: 'block_actions',
        user: { id: user },
        team: { id: 'T1' },
        api_app_id: 'A1',
        token: 'x',
        channel: { id: 'CORG' },
        container: { type: 'message' },
        trigger_id: 'trigger-2',
        response_url: slack.responseUrl(respond),
        actions: [{ type: 'button', action_id: actionId, block_id: 'b', value, action_ts: '1' }],
      });
      const response = await post(new URLSearchParams({ payload }).toString(), 'application/x-www-form-urlencoded');
      return { respond, status: response.status };
    },
  };
}

describe('slack organizer console', () => {
  const slack = new FakeSlack();
  const telegram = new FakeTelegram();
  let engine: Engine;
  let api: ReturnType<typeof client>;
  const answers = (respond: string) => waitFor(() => slack.responses.get(respond));

  beforeAll(async () => {
    await slack.start();
    await telegram.start();
    engine = await Engine.start(config(slack, telegram), { log: silent, watch: false });
    api = client(engine, slack);
    await seed(engine, [
      [101, 'Ivan', 'ru'],
      [102, 'Olga', 'ru'],
      [103, 'Amina', 'ar'],
      [104, 'Omar', 'en'],
    ]);
  });
  afterAll(async () => {
    await engine?.stop();
    await slack.stop();
    await telegram.stop();
  });

  test('bad, missing and stale signatures are refused with 401, and nothing happens', async () => {
    const body = new URLSearchParams({ command: '/alert', text: 'everyone | hi', user_id: 'UORG', channel_id: 'C', response_url: slack.responseUrl('bad') }).toString();
    const type = 'application/x-www-form-urlencoded';
    expect((await api.post(body, type, {})).status).toBe(401);
    expect((await api.post(body, type, slackHeaders('wrong-secret', body))).status).toBe(401);
    expect((await api.post(body, type, slackHeaders(SECRET, body, Math.floor(Date.now() / 1000) - 6 * 60))).status).toBe(401);
    expect((await api.post(`${body}&x=1`, type, slackHeaders(SECRET, body))).status).toBe(401);
    const [{ count }] = await engine.services.db.query<{ count: number }>(`select count(*)::int as count from broadcasts`);
    expect(count).toBe(0);
  });

  test('someone who is not an organizer gets a polite refusal, and nothing is created', async () => {
    const { respond, status } = await api.slash('/alert', 'everyone | hello', 'USTRANGER');
    expect(status).toBe(200);
    expect((await answers(respond))[0]!.text).toMatch(/^Sorry, only the campaign's organizers/);
    const [{ count }] = await engine.services.db.query<{ count: number }>(`select count(*)::int as count from broadcasts`);
    expect(count).toBe(0);
  });

  test('a segment that does not parse is shown with a caret', async () => {
    const { respond } = await api.slash('/alert', 'grup = volunteers | hello');
    expect((await answers(respond))[0]!.text).toBe('unknown field "grup" (did you mean "group"?):\n```grup = volunteers\n^```');
  });

  test('preview, confirm by the organizer who asked, progress, delivery in each language', async () => {
    const { respond, ms } = await api.slash('/alert', 'everyone | template:alert.sample_message');
    expect(ms).toBeLessThan(3000);
    const [preview] = await answers(respond);
    expect(preview!.response_type).toBe('ephemeral');
    const text = JSON.stringify(preview!.blocks);
    expect(text).toContain('*4* of 4 matching contacts');
    expect(text).toContain('by channel: telegram 4');
    expect(text).toContain('by language: ru 2, ar 1, en 1');
    expect(text).toContain('Важно: марш начнётся в 18:00 у здания мэрии.');
    expect(text).toContain('هام: تنطلق المسيرة');
    const id = preview!.blocks.at(-1).elements[0].value as string;

    // Another organizer cannot confirm it.
    const other = await api.click('alert_confirm', id, 'UORG2');
    expect((await answers(other.respond))[0]!.text).toBe('Only <@UORG>, who prepared this alert, can confirm it.');
    expect(await engine.services.broadcasts.progress(Number(id))).toMatchObject({ status: 'previewed', recipients: 0 });

    const confirm = await api.click('alert_confirm', id);
    expect((await answers(confirm.respond))[0]!.text).toBe(`Confirmed: alert #${id} is being sent to 4 contacts.`);
    await waitFor(() => [101, 102, 103, 104].every((chat) => telegram.sentTo(chat).length === 1));
    expect(telegram.sentTo(101)[0]!.text).toBe('Важно: марш начнётся в 18:00 у здания мэрии. Возьмите с собой воду!');
    expect(telegram.sentTo(104)[0]!.text).toBe('Important: the march starts at 6 pm at the town hall. Bring water!');
    const progress = slack.called('chat.postMessage').find((call) => call.params.text?.startsWith(`Alert #${id}`))!;
    expect(progress.params.channel).toBe('CORG');
    const final = await waitFor(() => slack.called('chat.update').find((call) => call.params.text.startsWith(`Alert #${id} done`)));
    expect(final.params.text).toBe(`Alert #${id} done: 4 sent, 0 failed, 0 not sent, of 4.\ntelegram: 4 sent, 0 failed, 0 remaining`);
    const audit = await engine.services.db.query(`select actor, action from audit_log order by id`);
    expect(audit).toEqual([
      { actor: 'slack:UORG', action: 'alert.preview' },
      { actor: 'slack:UORG', action: 'alert.confirm' },
    ]);
    const status = await api.slash('/alert', 'status');
    expect((await answers(status.respond))[0]!.text).toMatch(new RegExp(`^Alert #${id} done: 4 sent`));
  });

  test('/alert alone opens the form', async () => {
    await api.slash('/alert', '');
    const call = await waitFor(() => slack.called('views.open')[0]);
    expect(call.params.view.callback_id).toBe('alert_form');
  });

  test('/event create opens a form; submitting it creates the event, and /rsvps lists it', async () => {
    await api.slash('/event', 'create');
    const call = await waitFor(() => slack.called('views.open').find((candidate) => candidate.params.view.callback_id === 'event_form'));
    expect(call.params.view.blocks.map((block: { block_id: string }) => block.block_id)).toEqual(['title', 'start', 'timezone', 'place', 'capacity', 'slug']);
    const values = (fields: Record<string, string>) => Object.fromEntries(Object.entries(fields).map(([block, value]) => [block, { value: { type: 'plain_text_input', value } }]));
    const submit = (fields: Record<string, string>) =>
      api.post(
        new URLSearchParams({
          payload: JSON.stringify({ type: 'view_submission', user: { id: 'UORG' }, team: { id: 'T1' }, api_app_id: 'A1', token: 'x', trigger_id: 't', view: { id: 'V1', callback_id: 'event_form', private_metadata: 'CORG', state: { values: values(fields) } } }),
        }).toString(),
        'application/x-www-form-urlencoded',
      );
    const refused = await submit({ title: 'Bad', start: 'next week', timezone: 'Europe/Paris' });
    expect(await refused.json()).toEqual({ response_action: 'errors', errors: { start: '--start "next week" is not a date and time: write it like 2030-05-04T18:00 (in the event\'s timezone)' } });
    const created = await submit({ title: 'Town hall', start: '2031-05-04T18:00', timezone: 'Europe/Paris', capacity: '40', slug: 'slack-town-hall' });
    expect(created.status).toBe(200);
    const note = await waitFor(() => slack.called('chat.postEphemeral').find((candidate) => String(candidate.params.text).startsWith('Event *Town hall* created')));
    expect(note.params.text).toContain('`slack-town-hall`');
    const rsvps = await api.slash('/rsvps', '');
    expect((await answers(rsvps.respond))[0]!.text).toBe('*Town hall* (`slack-town-hall`, 2031-05-04 16:00 UTC): 0 yes of 40, 0 waiting, 0 maybe, 0 no');
    await engine.services.db.query(`delete from events where slug = 'slack-town-hall'`);
  });

  test('/contacts, /results and /rsvps answer organizers', async () => {
    const contacts = await api.slash('/contacts', 'language = ru');
    expect((await answers(contacts.respond))[0]!.text).toBe('*language = ru*: 2 contacts, 2 reachable for alerts\nby channel: telegram 2\nby language: ru 2\nleft out: 0 stopped, 0 without consent, 0 not reachable');
    const results = await api.slash('/results', 'survey');
    expect((await answers(results.respond))[0]!.blocks[0].text.text).toBe('No answers to *survey* yet.');
    const rsvps = await api.slash('/rsvps', '');
    expect((await answers(rsvps.respond))[0]!.text).toBe('No upcoming events.');
  });

  test('a flow note (notify) is posted to the notes channel', async () => {
    await engine.services.pipeline.startFlow({ channel: 'console', address: 'keen' }, 'survey');
    const { ChatSession } = await import('../bots/console.ts');
    const session = new ChatSession(engine.services, 'keen');
    for (const text of ['1', '10', 'Count me in']) await session.say(text);
    const note = await waitFor(() => slack.called('chat.postMessage').find((call) => call.params.channel === 'CNOTES'));
    expect(note.params.text).toMatch(/rated 10\/10 for volunteering and wrote: Count me in$/);
  });

  test('cancel stops what has not been sent; a STOP during the alert is honoured', async () => {
    // Twenty more supporters, and a slow Telegram: the alert takes a while.
    await seed(engine, Array.from({ length: 20 }, (_, i) => [200 + i, `Person ${i}`, 'en'] as [number, string, string]));
    telegram.fail('sendMessage', { status: 429, description: 'Too Many Requests: retry after 2', retry_after: 2 });
    const { respond } = await api.slash('/alert', 'everyone | Meeting moved to Friday');
    const id = (await answers(respond))[0]!.blocks.at(-1).elements[0].value as string;
    await api.click('alert_confirm', id);
    // Person 19 says STOP before the alert reaches them.
    telegram.userSays({ id: 219, language_code: 'en' }, 'STOP');
    await waitFor(() => telegram.sentTo(219).length === 1);
    const cancel = await api.slash('/alert', 'cancel');
    expect((await answers(cancel.respond))[0]!.text).toMatch(new RegExp(`^Alert #${id} cancelled: \\d+ messages will not be sent\\.$`));
    const progress = (await engine.services.broadcasts.progress(Number(id)))!;
    expect(progress.status).toBe('cancelled');
    expect(progress.cancelled).toBeGreaterThan(0);
    expect(telegram.sentTo(219).map((message) => message.text)).toEqual(['You will not receive any more messages from us. Write START if you change your mind.']);
  });
});

describe('slack: restart in the middle of a broadcast', () => {
  test('every recipient gets the alert once', async () => {
    const slack = new FakeSlack();
    const telegram = new FakeTelegram();
    await slack.start();
    await telegram.start();
    const dir = mkdtempSync(join(tmpdir(), 'tocsin-restart-broadcast-'));
    const settings = config(slack, telegram, { database: { kind: 'embedded', dataDir: dir }, dataDir: dir });
    settings.telegram!.rateLimit = 10;
    // Small batches: a stop only waits for the few sends under way.
    settings.delivery = { ...settings.delivery, batchSize: 3 };
    try {
      let engine = await Engine.start(settings, { log: silent, watch: false });
      await seed(engine, Array.from({ length: 30 }, (_, i) => [300 + i, `R${i}`, 'en'] as [number, string, string]));
      const api = client(engine, slack);
      const { respond } = await api.slash('/alert', 'everyone | Vote on Sunday');
      const preview = await waitFor(() => slack.responses.get(respond));
      await api.click('alert_confirm', preview[0]!.blocks.at(-1).elements[0].value);
      await waitFor(() => telegram.called('sendMessage') >= 5);
      await engine.stop();
      const sentBefore = telegram.called('sendMessage');
      expect(sentBefore).toBeLessThan(30);
      engine = await Engine.start(settings, { log: silent, watch: false });
      try {
        await waitFor(() => Array.from({ length: 30 }, (_, i) => 300 + i).every((chat) => telegram.sentTo(chat).length >= 1), 20_000);
        expect(Array.from({ length: 30 }, (_, i) => telegram.sentTo(300 + i).length)).toEqual(Array(30).fill(1));
      } finally {
        await engine.stop();
      }
    } finally {
      await slack.stop();
      await telegram.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

test('an unreachable Slack API does not hold engine start; the log says what to check', async () => {
  const telegram = new FakeTelegram();
  await telegram.start();
  const lines: string[] = [];
  const log = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
  const unreachable = testConfig({ port: 0, telegram: { token: telegram.token, apiRoot: telegram.url, rateLimit: 50 }, slack: { botToken: 'xoxb-test', signingSecret: SECRET, apiUrl: 'http://127.0.0.1:9/api/', organizers: [] } });
  const engine = await Engine.start(unreachable, { log, watch: false });
  try {
    // The Web API client gives up after two quick retries (its default is thirty minutes):
    // the error shows within the minute, however busy the machine.
    await waitFor(() => lines.some((line) => line.includes('channel slack could not start')), 60_000);
    const error = JSON.parse(lines.find((line) => line.includes('channel slack could not start'))!).error as string;
    expect(error).toMatch(/^Slack: could not check the bot token at http:\/\/127\.0\.0\.1:9\/api\/ .*check SLACK_BOT_TOKEN and SLACK_API_URL$/);
    expect((await fetch(`${engine.url}/healthz`)).status).toBe(200);
  } finally {
    await engine.stop();
    await telegram.stop();
  }
}, 90_000);
