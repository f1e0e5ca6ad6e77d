// `- leave: volunteers`: removes the contact from a group.
import type { Action } from '../../types.ts';

export const leave: Action = {
  key: 'leave',
  run(value, ctx) {
    ctx.effect({ kind: 'leave', group: String(value) });
  },
};
