// `type: choice`: one of `choices` (id -> label). Matches a pressed button, the number
// shown ("1"), the id, or the label in any language, ignoring case and accents.
import { normalizeWord } from '../../i18n.ts';
import type { AskType } from './index.ts';

export const choice: AskType = {
  type: 'choice',
  choices(spec, ctx) {
    return Object.entries(spec.choices ?? {}).map(([id, label]) => ({ id, label: ctx.render(label) }));
  },
  parse(input, spec, ctx) {
    const ids = Object.keys(spec.choices ?? {});
    if (input.choice && ids.includes(input.choice)) return { ok: true, value: input.choice };
    const typed = normalizeWord(input.text);
    if (!typed) return { ok: false };
    const number = Number(typed);
    if (Number.isInteger(number) && number >= 1 && number <= ids.length) return { ok: true, value: ids[number - 1] };
    for (const id of ids) {
      const labels = [id, ...ctx.allTexts(spec.choices![id]!)];
      if (labels.some((label) => normalizeWord(label) === typed)) return { ok: true, value: id };
    }
    return { ok: false };
  },
};
