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
    const type = askTypes.get(spec.type);
    if (!type) return ctx.end(`unknown ask type "${spec.type}" in flow "${ctx.flow.id}" (known: ${[...askTypes.keys()].join(', ')})`);
    const choices = type.choices?.(spec, ctx);
    if (choices?.length) ctx.offerChoices(choices);
    return 'wait';
  },
  answer(value, input, ctx) {
    const spec = value as AskSpec;
    const type = askTypes.get(spec.type)!;
    const parsed = type.parse(input, spec, ctx);
    if (parsed.ok) {
      ctx.answer = parsed.value;
      save(spec, ctx.state.step, parsed.value, ctx);
      return;
    }
    ctx.state.retries += 1;
    if (ctx.state.retries > MAX_RETRIES) return 'invalid';
    ctx.reply({ text: ctx.render(spec.retry ?? type.retry ?? DEFAULT_RETRY, { ask: spec }), choices: type.choices?.(spec, ctx) });
    return 'retry';
  },
};

/**
 * Where an answer goes: `save: contact.name` (a contact field; `contact.groups` joins the
 * chosen groups and leaves the others offered), `save: vars.city` (a conversation
 * variable), or a survey answer named after the step (or `save: answers.<name>`).
 */
export function save(spec: Pick<AskSpec, 'save' | 'type' | 'choices'>, step: string, value: unknown, ctx: StepContext) {
  const target = spec.save;
  if (target === 'contact.groups') {
    const chosen = new Set((Array.isArray(value) ? value : [value]).map(String));
    for (const group of Object.keys(spec.choices ?? {})) ctx.effect(chosen.has(group) ? { kind: 'join', group } : { kind: 'leave', group });
    ctx.state.vars.groups = [...chosen];
  } else if (target?.startsWith('contact.')) {
    ctx.effect({ kind: 'set_contact', field: target.slice('contact.'.length), value });
  } else if (target?.startsWith('vars.')) {
    ctx.state.vars[target.slice('vars.'.length)] = value;
  } else {
    const question = target?.startsWith('answers.') ? target.slice('answers.'.length) : step;
    ctx.state.answers[question] = value;
    ctx.effect({ kind: 'answer', flow: ctx.flow.id, question, type: spec.type, value });
  }
}
