// `say: key` (or an inline map per language): sends a text.
import type { StepPart, Text } from '../../types.ts';

export const say: StepPart = {
  key: 'say',
  enter(value, ctx) {
    ctx.reply({ text: ctx.render(value as Text) });
  },
};
