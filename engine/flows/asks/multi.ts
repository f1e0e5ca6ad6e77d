// `type: multi`: several of `choices`, typed as numbers or labels separated by commas,
// spaces or "and" in any language ("1 3", "housing, climate", "logement et climat"). The
// answer is the list of ids, in the order of the choices.
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
    // Labels may hold spaces ("Transports en commun"): try pieces between commas and
    // "and"s first, then every word.
    const joined = input.text.replace(/\s+(?:and|et|и|و)\s+/giu, ',');
    const chosen = matchAll(joined.split(/[,;،]+/u), ids, words) ?? matchAll(joined.split(/[,;،\s]+/u), ids, words);
    if (!chosen) return { ok: false };
    return chosen.size ? { ok: true, value: ids.filter((id) => chosen.has(id)) } : { ok: false };
  },
};

/** The ids all `pieces` name, or undefined when one of them names nothing. */
function matchAll(pieces: string[], ids: string[], words: (id: string) => string[]): Set<string> | undefined {
  const chosen = new Set<string>();
  for (const piece of pieces.map((part) => part.trim()).filter(Boolean)) {
    const match = matchChoice(undefined, piece, ids, words);
    if (!match.ok) return undefined;
    chosen.add(match.value as string);
  }
  return chosen;
}
