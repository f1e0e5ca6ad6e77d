// `type: event`: one of the upcoming events, shown with its date and time in the
// contact's language and timezone. Saves the event's slug.
import { formatDate } from '../../format.ts';
import type { AskType } from './index.ts';
import { matchChoice } from './choice.ts';

export const event: AskType = {
  type: 'event',
  choices: (_spec, ctx) =>
    ctx.data.events.map((item) => ({ id: item.slug, label: `${item.title} — ${formatDate(item.startsAt, ctx.contact.language, ctx.contact.timezone ?? item.timezone)}` })),
  parse: (input, _spec, ctx) =>
    matchChoice(
      input.choice,
      input.text,
      ctx.data.events.map((item) => item.slug),
      (slug) => [ctx.data.events.find((item) => item.slug === slug)!.title],
    ),
};
