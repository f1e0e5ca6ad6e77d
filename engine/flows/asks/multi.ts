// `type: multi`: several of `choices`, typed as numbers or labels separated by commas,
// spaces or "and" ("1 3", "housing, climate"). The answer is the list of ids, in the
// order of the choices.
import type { AskType } from './index.ts';
import { choiceWords, labelled, matchChoice } from './choice.ts';

export const multi: AskType = {
  type: 'multi',
  retry: 'common.retry_multi',
  choices: (spec, ctx) => labelled(spec, ctx),
  parse(input, spec, ctx) {
    const ids = Object.keys(spec.choices ?? {});
    const words = (id: string) => choiceWords(id, spec, ctx);
    if (input.choice) return ids.includes(input.choice) ? { ok: true, value: [input.choice] } : { ok: false };
    const whole = matchChoice(undefined, input.text, ids, words);
    if (whole.ok) return { ok: true, value: [whole.value] };
    const pieces = input.text.split(/[,;،\s]+|\s+(?:and|et|و|и)\s+/u).filter(Boolean);
    const chosen = new Set<string>();
    for (const piece of pieces) {
      const match = matchChoice(undefined, piece, ids, words);
      if (!match.ok) return { ok: false };
      chosen.add(match.value as string);
    }
    return chosen.size ? { ok: true, value: ids.filter((id) => chosen.has(id)) } : { ok: false };
  },
};
