// `- join: supporters`: adds the contact to a group (created when new).
import type { Action } from '../../types.ts';

export const join: Action = {
  key: 'join',
  run(value, ctx) {
    ctx.effect({ kind: 'join', group: String(value) });
  },
};
