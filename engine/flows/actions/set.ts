// `- set: { contact.city: Kyiv, vars.topic: housing }`: sets contact fields or variables.
// Values are templates: `contact.source: "{{vars.campaign}}"`.
import type { Action } from '../../types.ts';
import { save } from '../parts/ask.ts';

export const set: Action = {
  key: 'set',
  run(value, ctx) {
    for (const [target, raw] of Object.entries(value as Record<string, unknown>)) {
      const rendered = typeof raw === 'string' ? ctx.renderValue(raw) : raw;
      save({ save: target, type: 'text' }, ctx.state.step, rendered, ctx);
    }
  },
};
