// What flows read from the store (upcoming events), cached for a few seconds: it is read
// for every message and changes rarely.
import type { Sql } from '../store/database.ts';
import type { EventView, FlowData } from '../types.ts';

const TTL_MS = 5000;
const MAX_EVENTS = 9;

interface StoredEvent {
  slug: string;
  title: Record<string, string>;
  starts_at: Date;
  timezone: string;
  place: string | null;
}

export class FlowDataCache {
  private events: StoredEvent[] = [];
  private loadedAt = 0;

  constructor(private readonly defaultLanguage: string) {}

  /** `sql` is the caller's transaction (on the embedded database, the only connection). */
  async forLanguage(sql: Sql, language: string): Promise<FlowData> {
    if (Date.now() - this.loadedAt > TTL_MS) {
      this.events = await sql.query<StoredEvent>(
        `select slug, title, starts_at, timezone, place from events
         where status = 'scheduled' and starts_at > now() and coalesce(rsvp_deadline, starts_at) > now()
         order by starts_at limit ${MAX_EVENTS}`,
      );
      this.loadedAt = Date.now();
    }
    const events: EventView[] = this.events.map((event) => ({
      slug: event.slug,
      title: event.title[language] ?? event.title[this.defaultLanguage] ?? Object.values(event.title)[0] ?? event.slug,
      startsAt: event.starts_at,
      timezone: event.timezone,
      place: event.place,
    }));
    return { events };
  }

  /** Forget what was read (an event was just created or changed). */
  invalidate() {
    this.loadedAt = 0;
  }
}
