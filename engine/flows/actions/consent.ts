// `- consent: granted` (or withdrawn): records consent for the channel the contact is on.
import type { Action } from '../../types.ts';

export const consent: Action = {
  key: 'consent',
  run(value, ctx) {
    const status = value === 'withdrawn' ? 'withdrawn' : 'granted';
    ctx.effect({ kind: 'consent', status, source: `flow:${ctx.state.flow}` });
  },
};
