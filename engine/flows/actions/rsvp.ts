// `- rsvp: { event: "{{vars.event}}", answer: "{{answers.coming}}" }`: records the
// contact's answer (yes, no or maybe) to an event. The pipeline applies it under the
// event's lock (capacity holds) and tells the outcome: confirmed, or waitlisted at N.
import type { Action } from '../../types.ts';

const ANSWERS = new Set(['yes', 'no', 'maybe']);

export const rsvp: Action = {
  key: 'rsvp',
  run(value, ctx) {
    const { event, answer } = value as { event: string; answer: string };
    const slug = ctx.renderValue(String(event)).trim();
    const given = ctx.renderValue(String(answer)).trim();
    if (!slug || !ANSWERS.has(given)) return ctx.end(`rsvp in flow "${ctx.flow.id}" needs an event and an answer of yes, no or maybe (got "${slug}", "${given}")`);
    ctx.effect({ kind: 'rsvp', event: slug, answer: given as 'yes' | 'no' | 'maybe', replyAt: ctx.replyCount });
  },
};
