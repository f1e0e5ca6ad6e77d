// `- consent: granted` (or withdrawn): records consent for the channel the contact is on.
import type { Action } from '../../types.ts';

export const consent: Action = {
  key: 'consent',
  run(value, ctx) {
    const status = value === 'withdrawn' ? 'withdrawn' : 'granted';
    // The wording they agreed to is this version of the flow (content hash) at this step.
    ctx.effect({ kind: 'consent', status, source: `flow:${ctx.flow.id}`, wording: `${ctx.flow.id}@${ctx.flow.version}#${ctx.state.step}` });
  },
};
