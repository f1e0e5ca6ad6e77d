// E-mail, with nodemailer (pooled SMTP): every message in HTML and plain text from the
// layouts in templates/, in the contact's language (right to left for Arabic), with the
// organization's name and address and a visible unsubscribe link; List-Unsubscribe
// (one-click, RFC 8058), List-Id and a Message-ID on the sending domain; DKIM when
// configured. The receiver (inbound.ts) takes replies and bounces.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import nodemailer, { type Transporter } from 'nodemailer';
import type { SMTPServer } from 'smtp-server';
import { isRightToLeft } from '../../engine/format.ts';
import type { Translator } from '../../engine/i18n.ts';
import type { Logger } from '../../engine/log.ts';
import { unsubscribeToken } from '../../engine/unsubscribe.ts';
import type { Channel, InboundHandler, OutboundMessage, SendResult } from '../channel.ts';
import { permanent, retryAfter, sent } from '../channel.ts';
import { startReceiver, type Bounce } from './inbound.ts';

export const EMAIL = 'email';

const template = (name: string) => Handlebars.compile(readFileSync(new URL(`./templates/${name}`, import.meta.url), 'utf8'));
const html = template('layout.html.hbs');
const text = template('layout.txt.hbs');

export interface EmailOptions {
  smtpUrl: string;
  from: string;
  replyTo?: string;
  ratePerSecond: number;
  publicUrl: string;
  unsubscribeSecret: string;
  organization: { name: string; address: string };
  dkim?: { domainName: string; keySelector: string; privateKey: string };
  inbound?: { port: number; host: string };
  i18n: Translator;
  log: Logger;
  /** A bounce came back for an address. */
  onBounce(bounce: Bounce): Promise<void>;
}

export class EmailChannel implements Channel {
  readonly name = EMAIL;
  readonly capabilities;
  private transport?: Transporter;
  private receiver?: SMTPServer;
  private readonly domain: string;

  constructor(private readonly options: EmailOptions) {
    // Choices are listed in the message (numbered); the supporter replies with one.
    this.capabilities = { buttons: true, maxTextLength: 100_000, ratePerSecond: options.ratePerSecond, holds: true };
    this.domain = /@([^>\s]+)>?\s*$/.exec(options.from)?.[1]?.toLowerCase() ?? 'localhost';
  }

  async start(onInbound: InboundHandler) {
    // Pooled connections (DKIM signing is per message, in compose).
    const url = new URL(this.options.smtpUrl);
    url.searchParams.set('pool', 'true');
    this.transport = nodemailer.createTransport(url.toString());
    if (this.options.inbound) {
      this.receiver = await startReceiver(this.options.inbound.port, this.options.inbound.host, { message: onInbound, bounce: this.options.onBounce }, this.options.log);
      this.options.log.info({ port: this.options.inbound.port }, 'email: receiving replies and bounces');
    }
  }

  async stop() {
    this.transport?.close();
    await new Promise<void>((resolve) => (this.receiver ? this.receiver.close(() => resolve()) : resolve()));
  }

  /** The message as mail: subject, HTML and text bodies, headers. */
  compose(address: string, message: OutboundMessage) {
    const { i18n, organization, publicUrl, unsubscribeSecret, replyTo } = this.options;
    const language = message.language ?? i18n.defaultLanguage;
    const token = unsubscribeToken(unsubscribeSecret, EMAIL, address);
    const unsubscribeUrl = `${publicUrl}/unsubscribe/${token}`;
    const rtl = isRightToLeft(language);
    const firstLine = message.text.split('\n').find((line) => line.trim()) ?? '';
    const subject = `${organization.name}: ${firstLine.length > 70 ? `${firstLine.slice(0, 67)}…` : firstLine}`;
    const data = {
      language,
      dir: rtl ? 'rtl' : 'ltr',
      align: rtl ? 'right' : 'left',
      start: rtl ? 'right' : 'left',
      subject,
      text: message.text,
      paragraphs: message.text.split(/\n{2,}/).map((paragraph) => paragraph.split('\n')),
      choices: message.choices,
      choiceLines: message.choices?.map((choice, index) => `${index + 1}) ${choice.label}`),
      replyHint: i18n.text('common.email_reply_hint', language),
      organization,
      unsubscribeUrl,
      unsubscribe: i18n.text('common.unsubscribe.link', language),
    };
    const mailto = replyTo ? `mailto:${replyTo}?subject=unsubscribe%20${token}` : undefined;
    return {
      from: this.options.from,
      to: address,
      replyTo,
      subject,
      html: html(data),
      text: text(data),
      messageId: `<${randomUUID()}@${this.domain}>`,
      list: { id: { url: `${organization.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.${this.domain}`, comment: organization.name } },
      // One List-Unsubscribe header with both ways (RFC 2369), and one-click (RFC 8058).
      headers: {
        'List-Unsubscribe': [`<${unsubscribeUrl}>`, ...(mailto ? [`<${mailto}>`] : [])].join(', '),
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
      ...(this.options.dkim ? { dkim: { ...this.options.dkim, headerFieldNames: DKIM_HEADERS } } : {}),
    };
  }

  async send(address: string, message: OutboundMessage): Promise<SendResult> {
    if (!this.transport) return retryAfter('email is not started');
    try {
      const info = await this.transport.sendMail(this.compose(address, message));
      if (info.rejected?.length) return permanent("the mail server refused the recipient's address");
      return sent(info.messageId);
    } catch (error) {
      const code = (error as { responseCode?: number }).responseCode;
      const reason = (error as Error).message;
      if (code && code >= 500) return permanent(`SMTP ${code}: ${reason}`);
      return retryAfter(code ? `SMTP ${code}: ${reason}` : reason);
    }
  }
}

/** DKIM covers the unsubscribe headers too (mail providers check them). */
const DKIM_HEADERS = 'from:to:subject:date:message-id:reply-to:list-id:list-unsubscribe:list-unsubscribe-post:mime-version:content-type';
