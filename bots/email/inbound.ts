// The built-in SMTP receiver (SMTP_INBOUND_PORT): replies from supporters continue their
// conversation, delivery status notifications (bounces) put addresses on hold.
import { createHash } from 'node:crypto';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { Logger } from '../../engine/log.ts';
import type { InboundMessage } from '../channel.ts';

export const MAX_INBOUND_BYTES = 10 * 1024 * 1024;

export interface Bounce {
  address: string;
  hard: boolean;
  status: string;
}

export interface InboundHandlers {
  message(message: InboundMessage): Promise<void>;
  bounce(bounce: Bounce): Promise<void>;
}

export function startReceiver(port: number, host: string, handlers: InboundHandlers, log: Logger): Promise<SMTPServer> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: MAX_INBOUND_BYTES,
    banner: 'Tocsin',
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then(async (mail) => {
          const bounce = readBounce(mail);
          if (bounce) await handlers.bounce(bounce);
          else {
            const message = readReply(mail);
            if (message) await handlers.message(message);
          }
          callback();
        })
        .catch((error: Error) => {
          log.error({ error: error.message }, 'inbound e-mail not stored; the sender will retry');
          // 451: try again later — the sending server keeps the mail.
          callback(Object.assign(new Error('Temporary failure, try again later'), { responseCode: 451 }));
        });
    },
  });
  server.on('error', (error) => log.error({ error: error.message }, 'smtp receiver error'));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** A supporter's reply, with the quoted history and the signature left out. */
export function readReply(mail: ParsedMail): InboundMessage | undefined {
  const from = mail.from?.value[0]?.address?.toLowerCase();
  if (!from) return undefined;
  const text = stripQuoted(mail.text ?? '');
  const id = mail.messageId ?? createHash('sha256').update(`${from}\n${mail.date?.toISOString()}\n${mail.text}`).digest('hex');
  return { channel: 'email', address: from, channelMessageId: id, text, displayName: mail.from?.value[0]?.name || undefined, receivedAt: mail.date ?? new Date() };
}

/** What the person wrote above "On … wrote:" / "> …" / "-- " and the forwarded-message lines. */
export function stripQuoted(text: string): string {
  const kept: string[] = [];
  for (const line of text.replace(/\r\n/g, '\n').split('\n')) {
    if (/^>/.test(line)) break;
    if (/^-- ?$/.test(line)) break;
    if (/^(On .+ wrote:|Le .+ a écrit ?:|.+ написал\(а\)?:|-----Original Message-----|From: .+)$/i.test(line.trim())) break;
    if (/^في .+ كتب/.test(line.trim())) break;
    kept.push(line);
  }
  return kept.join('\n').trim();
}

/** A delivery status notification (RFC 3464): who bounced, and whether for good (5.x.x). */
export function readBounce(mail: ParsedMail): Bounce | undefined {
  const type = mail.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  const isReport = type?.value === 'multipart/report' && type.params?.['report-type'] === 'delivery-status';
  const raw = [mail.text ?? '', ...mail.attachments.filter((part) => /delivery-status/.test(part.contentType)).map((part) => part.content.toString('utf8'))].join('\n');
  if (!isReport && !/^(mailer-daemon|postmaster)@/i.test(mail.from?.value[0]?.address ?? '')) return undefined;
  const recipient = /Final-Recipient:\s*rfc822;\s*<?([^\s>]+)>?/i.exec(raw)?.[1] ?? /Original-Recipient:\s*rfc822;\s*<?([^\s>]+)>?/i.exec(raw)?.[1];
  const status = /^Status:\s*([245]\.\d{1,3}\.\d{1,3})/im.exec(raw)?.[1];
  if (!recipient || !status) return undefined;
  return { address: recipient.toLowerCase(), hard: status.startsWith('5'), status };
}
