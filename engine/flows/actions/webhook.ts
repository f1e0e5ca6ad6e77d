// `- webhook: https://crm.example.org/hook` (or `{ url, body }`): POSTs JSON to another
// system, through the outbox, so it is retried until it is accepted.
import type { Action } from '../../types.ts';

export const webhook: Action = {
  key: 'webhook',
  run(value, ctx) {
    const spec = (typeof value === 'string' ? { url: value } : value) as { url: string; body?: Record<string, unknown> };
    const body = spec.body
      ? Object.fromEntries(Object.entries(spec.body).map(([key, raw]) => [key, typeof raw === 'string' ? ctx.renderValue(raw) : raw]))
      : {
          flow: ctx.flow.id,
          step: ctx.state.step,
          contact: { id: ctx.contact.id, name: ctx.contact.name, language: ctx.contact.language, channel: ctx.contact.channel },
          answers: ctx.state.answers,
          vars: ctx.state.vars,
        };
    ctx.effect({ kind: 'webhook', url: spec.url, body });
  },
};
