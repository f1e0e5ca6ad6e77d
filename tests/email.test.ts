// E-mail end to end against a real SMTP server on 127.0.0.1 (smtp-server), the mail parsed
// with mailparser: headers for bulk senders, HTML and text, right to left for Arabic,
// one-click unsubscribe, replies continuing a flow, bounces, the rate limit.
import { generateKeyPairSync } from 'node:crypto';
import { createServer as createNetServer } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import nodemailer from 'nodemailer';
import { pino } from 'pino';
import { SMTPServer } from 'smtp-server';
import { startReceiver, stripQuoted } from '../bots/email/inbound.ts';
import { Engine } from '../engine/engine.ts';
import { testConfig } from './helpers/services.ts';
import { waitFor } from './helpers/wait.ts';

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}


describe('email', () => {
  const received: { mail: ParsedMail; at: number }[] = [];
  const sink = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (mail) => {
          received.push({ mail, at: Date.now() });
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  let sinkPort = 0;
  let inboundPort = 0;
  let engine: Engine;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  /** A header as it was written (mailparser turns List-* headers into objects). */
  const raw = (mail: ParsedMail, key: string) => mail.headerLines.find((line) => line.key === key)?.line.replace(/^[^:]+:\s*/, '').replace(/\r?\n\s+/g, ' ') ?? '';
  const to = (address: string) => received.filter(({ mail }) => mail.to && JSON.stringify(mail.to).includes(address)).map(({ mail }) => mail);

  beforeAll(async () => {
    sinkPort = await freePort();
    await new Promise<void>((resolve) => sink.listen(sinkPort, '127.0.0.1', resolve));
    inboundPort = await freePort();
    engine = await Engine.start(
      testConfig({
        port: 0,
        publicUrl: 'https://bot.example.org',
        email: {
          smtpUrl: `smtp://127.0.0.1:${sinkPort}`,
          from: 'Riverside Tenants <news@riverside.example.org>',
          replyTo: 'reply@riverside.example.org',
          inboundPort,
          ratePerSecond: 5,
          unsubscribeSecret: 'a-long-unsubscribe-secret-for-tests',
          organization: { name: 'Riverside Tenants', address: '12 Quay Street, Lyon' },
          dkim: { domainName: 'riverside.example.org', keySelector: 'tocsin', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
        },
      }),
      { log: pino({ level: 'silent' }), watch: false },
    );
    for (const [address, name, language, consent] of [
      ['amina@example.org', 'Amina', 'en', true],
      ['layla@example.org', 'ليلى', 'ar', true],
      ['quiet@example.org', 'Quiet', 'en', false],
    ] as const) {
      const [{ id }] = await engine.services.db.query<{ id: number }>(`insert into contacts (name, language) values ($1, $2) returning id`, [name, language]);
      await engine.services.db.query(`insert into identities (contact_id, channel, address) values ($1, 'email', $2)`, [id, address]);
      if (consent) await engine.services.db.query(`insert into consents (contact_id, channel, status, source) values ($1, 'email', 'granted', 'test')`, [id]);
    }
  });
  afterAll(async () => {
    await engine?.stop();
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  });

  test('an alert arrives as well-formed mail: bulk headers, DKIM, HTML and text, right to left in Arabic', async () => {
    const id = await engine.services.broadcasts.create('test', 'channel = email', { template: 'alert.sample_message', question: 'alert.sample_question' });
    expect(await engine.services.broadcasts.start(id)).toBe(2);
    const [mail] = await waitFor(() => (to('amina@example.org').length ? to('amina@example.org') : undefined));
    const unsubscribe = raw(mail!, 'list-unsubscribe');
    expect(unsubscribe).toMatch(/^<https:\/\/bot\.example\.org\/unsubscribe\/[\w-]+\.[\w-]+>, <mailto:reply@riverside\.example\.org\?subject=unsubscribe%20[\w.-]+>$/);
    expect(raw(mail!, 'list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(raw(mail!, 'list-id')).toBe('"Riverside Tenants" <riverside-tenants.riverside.example.org>');
    expect(mail!.messageId).toMatch(/@riverside\.example\.org>$/);
    const dkim = raw(mail!, 'dkim-signature');
    expect(dkim).toMatch(/d=riverside\.example\.org;/);
    expect(dkim).toMatch(/s=tocsin;/);
    expect(dkim).toMatch(/h=[^;]*List-Unsubscribe[^;]*List-Unsubscribe-Post/i);
    expect(mail!.subject).toBe('Riverside Tenants: Important: the march starts at 6 pm at the town hall. Bring water!');
    expect(mail!.text).toContain('Important: the march starts at 6 pm at the town hall. Bring water!');
    expect(mail!.text).toContain('1) Yes\n2) No');
    expect(mail!.text).toContain('Riverside Tenants, 12 Quay Street, Lyon');
    expect(mail!.text).toMatch(/Unsubscribe: https:\/\/bot\.example\.org\/unsubscribe\//);
    expect(mail!.html).toContain('<html lang="en" dir="ltr">');
    expect(mail!.html).toContain('Riverside Tenants · 12 Quay Street, Lyon');
    const [arabic] = await waitFor(() => (to('layla@example.org').length ? to('layla@example.org') : undefined));
    expect(arabic!.html).toContain('<html lang="ar" dir="rtl">');
    expect(arabic!.html).toContain('هام: تنطلق المسيرة');
    expect(arabic!.html).toContain('إلغاء الاشتراك');
    expect(to('quiet@example.org')).toHaveLength(0);
  });

  test('unsubscribe: GET shows a button and changes nothing; POST unsubscribes once; a forged token is refused', async () => {
    const [mail] = to('amina@example.org');
    const url = /<(https:[^>]+)>/.exec(raw(mail!, 'list-unsubscribe'))![1]!.replace('https://bot.example.org', engine.url);
    const stopped = async () => (await engine.services.db.query(`select 1 from identities where address = 'amina@example.org' and stopped_at is not null`)).length === 1;

    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post"><button type="submit">Unsubscribe</button></form>');
    expect(await stopped()).toBe(false);

    const forged = url.replace(/.$/, (char) => (char === 'A' ? 'B' : 'A'));
    expect((await fetch(forged, { method: 'POST' })).status).toBe(400);
    expect(await stopped()).toBe(false);

    for (let i = 0; i < 2; i++) {
      const response = await fetch(url, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('Done: you will not receive any more e-mails from us.');
    }
    expect(await stopped()).toBe(true);
    const withdrawals = await engine.services.db.query(`select source from consents where status = 'withdrawn' and contact_id = (select contact_id from identities where address = 'amina@example.org')`);
    expect(withdrawals).toEqual([{ source: 'unsubscribe link' }]);
    // The next alert leaves her out.
    const preview = await engine.services.broadcasts.preview('channel = email or name = Amina', { text: 'Next' });
    expect(preview.excluded.stopped).toBe(1);
  });

  test('a reply by e-mail continues the conversation, quoted history left out', async () => {
    const supporter = nodemailer.createTransport({ host: '127.0.0.1', port: inboundPort, secure: false, ignoreTLS: true });
    await supporter.sendMail({ from: 'Omar <omar@example.net>', to: 'reply@riverside.example.org', subject: 'survey', text: 'survey\n' });
    const [question] = await waitFor(() => (to('omar@example.net').length ? to('omar@example.net') : undefined));
    expect(question!.text).toContain('Which issue matters most to you in our neighbourhood?');
    expect(question!.text).toContain('1) Housing\n2) Public transport\n3) Safety\n4) Climate');
    await supporter.sendMail({
      from: 'Omar <omar@example.net>',
      to: 'reply@riverside.example.org',
      subject: `Re: ${question!.subject}`,
      inReplyTo: question!.messageId,
      text: '2\n\nOn Sat, 21 Nov 2026, Riverside Tenants wrote:\n> Which issue matters most to you?\n> 1) Housing\n',
    });
    await waitFor(() => to('omar@example.net').length === 2);
    expect(to('omar@example.net')[1]!.text).toContain('From 0 to 10, how likely are you to volunteer with us?');
    const [answer] = await engine.services.db.query(`select value_text from survey_answers where question = 'priority' and contact_id = (select contact_id from identities where address = 'omar@example.net')`);
    expect(answer).toEqual({ value_text: 'transport' });
    supporter.close();
  });

  test('a hard bounce puts the address on hold: nothing more is sent there', async () => {
    const mailer = nodemailer.createTransport({ host: '127.0.0.1', port: inboundPort, secure: false, ignoreTLS: true });
    const dsn = [
      'Reporting-MTA: dns; mx.example.org',
      '',
      'Final-Recipient: rfc822; layla@example.org',
      'Action: failed',
      'Status: 5.1.1',
      'Diagnostic-Code: smtp; 550 5.1.1 user unknown',
    ].join('\r\n');
    await mailer.sendMail({
      from: 'MAILER-DAEMON@mx.example.org',
      to: 'reply@riverside.example.org',
      subject: 'Undelivered Mail Returned to Sender',
      text: 'This is the mail system. Your message could not be delivered.',
      attachments: [{ contentType: 'message/delivery-status', content: dsn }],
    });
    mailer.close();
    await waitFor(async () => (await engine.services.db.query(`select 1 from identities where address = 'layla@example.org' and held_at is not null`)).length === 1);
    const before = to('layla@example.org').length;
    const ids = await engine.services.pipeline.startFlow({ channel: 'email', address: 'layla@example.org' }, 'alert', { text: 'Are you there?' });
    engine.services.delivery.wake();
    await waitFor(async () => (await engine.services.db.query<{ status: string }>(`select status from outbox where id = $1`, [ids[0]]))[0]!.status === 'cancelled');
    expect(to('layla@example.org')).toHaveLength(before);
  });

  test('quoted replies and signatures are stripped', () => {
    expect(stripQuoted('Yes, count me in\n\nLe lun. 1 mars 2027, Riverside a écrit :\n> Can you come?')).toBe('Yes, count me in');
    expect(stripQuoted('Oui\n-- \nChloé\nSent from my phone')).toBe('Oui');
    expect(stripQuoted('да\n\n-----Original Message-----\nFrom: x')).toBe('да');
  });

  test('the sending rate is respected (EMAIL_RATE_LIMIT = 5 per second)', async () => {
    const start = received.length;
    for (let i = 0; i < 5; i++) {
      const [{ id }] = await engine.services.db.query<{ id: number }>(`insert into contacts (name) values ('rate') returning id`);
      await engine.services.db.query(`insert into outbox (contact_id, channel, address, kind, body) values ($1, 'email', $2, 'reply', '{"text": "hello"}')`, [id, `rate${i}@example.org`]);
    }
    engine.services.delivery.wake();
    await waitFor(() => received.length >= start + 5);
    const times = received.slice(start).map((entry) => entry.at);
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(4 * 200 - 50);
  });
});

test('a reply that cannot be stored is refused with 451, so the sending server keeps it and retries', async () => {
  const port = await freePort();
  let storeWorks = false;
  const stored: string[] = [];
  const receiver = await startReceiver(
    port,
    '127.0.0.1',
    {
      message: async (message) => {
        if (!storeWorks) throw new Error('database unreachable');
        stored.push(message.text ?? '');
      },
      bounce: async () => {},
    },
    pino({ level: 'silent' }),
  );
  const supporter = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  try {
    const mail = { from: 'omar@example.net', to: 'reply@riverside.example.org', subject: 'hi', text: 'join\n' };
    await expect(supporter.sendMail(mail)).rejects.toMatchObject({ responseCode: 451 });
    expect(stored).toEqual([]);
    storeWorks = true;
    await supporter.sendMail(mail);
    expect(stored).toEqual(['join']);
  } finally {
    supporter.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  }
});
