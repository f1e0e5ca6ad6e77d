// `- goto: survey`: leaves this flow for another; the conversation's variables go along.
import type { Action } from '../../types.ts';

export const goto: Action = {
  key: 'goto',
  run(value, ctx) {
    if (!ctx.goto(String(value))) ctx.end(`flow "${ctx.flow.id}" goes to unknown flow "${String(value)}"`);
  },
};
