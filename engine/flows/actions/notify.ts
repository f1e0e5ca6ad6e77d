// `- notify: survey.notify_volunteer` or `- notify: { text: "...", channel: "#rsvps" }`: a
// note for the organizers, posted to their Slack channel, in the default language.
import type { Action, Text } from '../../types.ts';

export const notify: Action = {
  key: 'notify',
  run(value, ctx) {
    const spec = (typeof value === 'object' && value !== null && 'text' in value ? value : { text: value }) as { text: Text; channel?: string };
    ctx.effect({ kind: 'notify', text: ctx.render(spec.text, {}, ctx.defaultLanguage), channel: spec.channel });
  },
};
