// `ask: { type, save, retry, ... }`: asks a question and waits. An invalid answer is
// asked again with the `retry` text, twice; the third makes the step `invalid`.
import type { StepContext, StepPart, Text } from '../../types.ts';
import { askTypes, type AskSpec } from '../asks/index.ts';

export const MAX_RETRIES = 2;
const DEFAULT_RETRY: Text = 'common.retry';

export const ask: StepPart = {
  key: 'ask',
  enter(value, ctx) {
    const spec = value as AskSpec;
    const choices = askTypes.get(spec.type)?.choices?.(spec, ctx);
    if (choices?.length) ctx.offerChoices(choices);
    return 'wait';
  },
  answer(value, input, ctx) {
    const spec = value as AskSpec;
    const type = askTypes.get(spec.type);
    if (!type) {
      ctx.end(`unknown ask type "${spec.type}" in flow "${ctx.state.flow}" (known: ${[...askTypes.keys()].join(', ')})`);
      return;
    }
    const parsed = type.parse(input, spec, ctx);
    if (parsed.ok) {
      ctx.answer = parsed.value;
      save(spec.save, ctx.state.step, parsed.value, ctx);
      return;
    }
    ctx.state.retries += 1;
    if (ctx.state.retries > MAX_RETRIES) return 'invalid';
    ctx.reply({ text: ctx.render(spec.retry ?? DEFAULT_RETRY), choices: type.choices?.(spec, ctx) });
    return 'retry';
  },
};

/** `save: contact.name`, `save: vars.city`, or by default the survey answer named after the step. */
export function save(target: string | undefined, step: string, value: unknown, ctx: StepContext) {
  if (target?.startsWith('contact.')) ctx.effect({ kind: 'set_contact', field: target.slice('contact.'.length), value });
  else if (target?.startsWith('vars.')) ctx.state.vars[target.slice('vars.'.length)] = value;
  else ctx.state.answers[target ?? step] = value;
}
