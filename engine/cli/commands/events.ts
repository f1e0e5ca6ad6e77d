// `tocsin events create|list|show|cancel`: the events supporters RSVP to.
import { userInfo } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { EventDetails, EventSummary } from '../../events.ts';
import { withStore } from '../connect.ts';

const actor = () => `cli:${userInfo().username}`;

export function eventsCommand() {
  const events = new Command('events').description('events that supporters RSVP to');
  events
    .command('create')
    .description('create an event; prints its id')
    .requiredOption('--title <text>', 'the title (in the default language); --title-fr TEXT, --title-ar TEXT… for others')
    .requiredOption('--start <datetime>', "when it starts, in the event's timezone: 2030-05-04T18:00")
    .requiredOption('--timezone <iana>', 'where it happens: Europe/Paris, Asia/Beirut…')
    .option('--end <datetime>', "when it ends, in the event's timezone")
    .option('--capacity <n>', 'seats; a yes beyond them goes to the waiting list', positiveInteger)
    .option('--place <text>', 'where')
    .option('--slug <slug>', 'short name for links (t.me/<bot>?start=rsvp, /events/<slug>.ics)')
    .option('--deadline <datetime>', "RSVPs close then (default: at the start), in the event's timezone")
    .option('--reminders <hours>', 'hours before the start to remind, comma-separated (default 24,2)', hoursList)
    .option('--followup <flow>', 'a flow started for attendees after the event (e.g. followup)')
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action(async (options: Record<string, string | number | number[] | undefined>, command: Command) => {
      const titles = translatedTitles(command.args);
      const event = {
        title: {} as Record<string, string>,
        start: String(options.start),
        timezone: String(options.timezone),
        end: options.end as string | undefined,
        capacity: options.capacity as number | undefined,
        place: options.place as string | undefined,
        slug: options.slug as string | undefined,
        deadline: options.deadline as string | undefined,
        reminders: options.reminders as number[] | undefined,
        followupFlow: options.followup as string | undefined,
      };
      const created = await withStore('events', async ({ call, config }) => {
        event.title = { [config.defaultLanguage]: String(options.title), ...titles };
        return call<EventSummary>('/events/create', { actor: actor(), event });
      });
      process.stdout.write(`${created.id}\n`);
    });
  events
    .command('list')
    .description('upcoming events with their counts')
    .option('--all', 'past and cancelled events too')
    .action(async ({ all }: { all?: boolean }) => {
      const list = await withStore('events', ({ call }) => call<EventSummary[]>('/events/list', { all }));
      if (!list.length) return void process.stdout.write('No events.\n');
      for (const event of list) {
        const seats = event.capacity ? `/${event.capacity}` : '';
        process.stdout.write(`${event.id}  ${event.slug}  ${event.start}  ${event.title}  yes ${event.counts.yes}${seats}, waiting ${event.counts.waitlist}, maybe ${event.counts.maybe}, no ${event.counts.no}${event.status === 'cancelled' ? '  (cancelled)' : ''}\n`);
      }
    });
  events
    .command('show <event>')
    .description('one event (id or slug) with everyone who answered')
    .addOption(new Option('--format <format>', 'text or json').choices(['text', 'json']).default('text'))
    .action(async (id: string, { format }: { format: string }) => {
      const event = await withStore('events', ({ call }) => call<EventDetails>('/events/show', { event: id }));
      if (format === 'json') return void process.stdout.write(`${JSON.stringify(event, null, 2)}\n`);
      process.stdout.write(`${event.title} (${event.slug}, #${event.id}) — ${event.start} ${event.timezone}${event.place ? `, ${event.place}` : ''}${event.status === 'cancelled' ? ' — CANCELLED' : ''}\n`);
      process.stdout.write(`yes ${event.counts.yes}${event.capacity ? ` of ${event.capacity}` : ''}, waiting list ${event.counts.waitlist}, maybe ${event.counts.maybe}, no ${event.counts.no}\n`);
      for (const person of event.attendees) process.stdout.write(`  ${person.answer}${person.waitlisted ? ' (waiting)' : ''}  ${person.name ?? 'unnamed'}  ${person.channel ?? ''}\n`);
    });
  events
    .command('cancel <event>')
    .description('cancel an event (id or slug); tells everyone who said yes or maybe')
    .action(async (id: string) => {
      const { told } = await withStore('events', ({ call }) => call<{ told: number }>('/events/cancel', { actor: actor(), event: id }));
      process.stdout.write(`Cancelled; ${told} people are being told.\n`);
    });
  return events;
}

function positiveInteger(value: string) {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('a whole number, 1 or more');
  return number;
}

function hoursList(value: string) {
  const hours = value.split(',').map((part) => Number(part.trim()));
  if (hours.some((hour) => !Number.isFinite(hour) || hour <= 0)) throw new InvalidArgumentError('hours such as 24,2');
  return hours.map((hour) => Math.round(hour * 3600));
}

/** `--title-fr "Assemblée"` and friends. */
function translatedTitles(args: string[]): Record<string, string> {
  const titles: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const match = /^--title-([a-z]{2,3})$/.exec(args[i]!);
    if (match && args[i + 1] !== undefined) titles[match[1]!] = args[++i]!;
  }
  return titles;
}
