// GET /unsubscribe/<token> shows a page with a button, in the contact's language, and
// changes nothing (mail scanners follow links); POST unsubscribes at once — no cookie, no
// login, no redirect — answers 200, and does it only once however often it is sent.
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { applyEffect } from '../pipeline/effects.ts';
import type { Services } from '../services.ts';
import { readUnsubscribeToken } from '../unsubscribe.ts';
import { audit } from '../audit.ts';
import type { HttpServer } from './server.ts';
import { isRightToLeft } from '../format.ts';

const page = Handlebars.compile(readFileSync(new URL('../../bots/email/templates/unsubscribe.html.hbs', import.meta.url), 'utf8'));

export function addUnsubscribeRoutes(http: HttpServer, services: Services, secret: string) {
  const { db, i18n } = services;
  const handle = (post: boolean) => async (request: import('node:http').IncomingMessage, response: import('node:http').ServerResponse) => {
    const token = decodeURIComponent((request.url ?? '').split('?')[0]!.slice('/unsubscribe/'.length));
    const signed = readUnsubscribeToken(secret, token);
    // The token names the address as written; the store finds it by its blind index (TOCSIN_ENCRYPTION_KEY).
    const target = signed && { channel: signed.channel, address: db.cipher.index(signed.channel, signed.address) };
    const [identity] = target
      ? await db.query<{ contact_id: number; language: string | null; stopped: boolean }>(
          `select i.contact_id, c.language, i.stopped_at is not null as stopped from identities i join contacts c on c.id = i.contact_id where i.channel = $1 and i.address = $2`,
          [target.channel, target.address],
        )
      : [];
    if (!target || !identity) {
      response.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('This unsubscribe link is not valid.');
      return;
    }
    if (post && !identity.stopped) {
      await db.transaction(async (tx) => {
        await tx.query(`update identities set stopped_at = now() where channel = $1 and address = $2 and stopped_at is null`, [target.channel, target.address]);
        await applyEffect(tx, identity.contact_id, target.channel, { kind: 'consent', status: 'withdrawn', source: 'unsubscribe link' });
        await tx.query(`update outbox set status = 'cancelled', last_error = 'unsubscribed' where channel = $1 and address = $2 and status in ('pending', 'held') and kind in ('bulk', 'reminder')`, [target.channel, target.address]);
      });
      await audit(db, 'supporter', 'unsubscribe', { channel: target.channel });
    }
    const language = i18n.pickLanguage(identity.language);
    const t = (key: string) => i18n.text(key, language);
    const done = post || identity.stopped;
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    response.end(page({ language, dir: isRightToLeft(language) ? 'rtl' : 'ltr', title: t('common.unsubscribe.title'), done, question: t('common.unsubscribe.question'), button: t('common.unsubscribe.button'), confirmation: t('common.unsubscribe.done') }));
  };
  http.route('GET', '/unsubscribe/*', handle(false));
  http.route('POST', '/unsubscribe/*', handle(true));
}
