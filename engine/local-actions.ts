// What the command line asks of the store, by name. The same table serves a command that
// opens the database itself and one that goes through a running engine's local socket
// (engine/http/local-api.ts), so both behave the same.
import { ChatSession } from '../bots/console.ts';
import { audit } from './audit.ts';
import { BroadcastError, type AlertMessage } from './broadcasts.ts';
import { renderResults } from './results.ts';
import { eraseContact } from './contacts/erase.ts';
import { everythingAbout } from './contacts/export.ts';
import { importContacts } from './contacts/import.ts';
import { TocsinError } from './errors.ts';
import { cancelEvent, createEvent, listEvents, showEvent, type NewEvent } from './events.ts';
import { SegmentError } from './segments.ts';
import type { Services } from './services.ts';

type Action = (services: Services, body: any) => Promise<unknown>;

export const localActions: Record<string, Action> = {
  '/chat/open': (services, { user, lang }) => new ChatSession(services, String(user), lang).open().then((replies) => ({ replies })),
  '/chat/say': (services, { user, lang, text }) => new ChatSession(services, String(user), lang).say(String(text)).then((replies) => ({ replies })),
  '/results': (services, { flow, format }) => renderResults(services, String(flow), format === 'csv' ? 'csv' : 'text'),
  '/alert/preview': (services, { segment, message }: { segment: string; message: AlertMessage }) => userErrors(() => services.broadcasts.preview(segment, message)),
  '/alert/start': async (services, { actor, segment, message }: { actor: string; segment: string; message: AlertMessage }) =>
    userErrors(async () => {
      const id = await services.broadcasts.create(actor, segment, message);
      const recipients = await services.broadcasts.start(id);
      await audit(services.db, actor, 'alert.start', { broadcast: id, segment, recipients, template: message.template ?? null });
      return { id, recipients };
    }),
  '/events/create': async (services, { actor, event }: { actor: string; event: NewEvent }) => {
    const created = await createEvent(services.db, event, services.i18n.defaultLanguage);
    services.pipeline.deps.flowData.invalidate();
    await audit(services.db, String(actor), 'event.create', { event: created.id, slug: created.slug });
    return created;
  },
  '/events/list': (services, { all }) => listEvents(services.db, services.i18n.defaultLanguage, { upcoming: !all }),
  '/events/show': (services, { event }) => showEvent(services.db, String(event), services.i18n.defaultLanguage),
  '/events/cancel': async (services, { actor, event }) => {
    const told = await services.db.transaction((tx) => cancelEvent(tx, String(event), services.i18n));
    services.pipeline.deps.flowData.invalidate();
    services.delivery.wake();
    await audit(services.db, String(actor), 'event.cancel', { event: String(event), told });
    return { told };
  },
  '/contacts/import': (services, { path, dryRun, country }) =>
    importContacts(services.db, String(path), { dryRun: !!dryRun, country, defaultLanguage: services.i18n.defaultLanguage, languages: services.i18n.languages }).then(async (summary) => {
      if (!summary.dryRun) await audit(services.db, 'cli', 'contacts.import', { rows: summary.rows, created: summary.created, updated: summary.updated, skipped: summary.skipped });
      return summary;
    }),
  '/contacts/show': (services, { id }) => everythingAbout(services.db, Number(id)),
  '/contacts/erase': async (services, { id, actor }) => {
    await services.db.transaction((tx) => eraseContact(tx, Number(id), String(actor)));
    return { erased: Number(id) };
  },
  '/alert/progress': (services, { id }) => services.broadcasts.progress(Number(id)),
  '/alert/cancel': async (services, { id, actor }) => {
    const cancelled = await services.broadcasts.cancel(Number(id));
    await audit(services.db, String(actor), 'alert.cancel', { broadcast: Number(id), cancelled });
    return { cancelled };
  },
};

/** Mistakes in what a person asked for become one-line errors (shown as they are). */
async function userErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SegmentError) throw new TocsinError(`in the segment, ${error.message}:\n  ${error.pointer.split('\n')[0]}\n  ${' '.repeat(error.at)}^`);
    if (error instanceof BroadcastError) throw new TocsinError(error.message);
    throw error;
  }
}
