// `type: choice`: one of `choices` (id -> label). Matches a pressed button, the number
// shown ("1"), the id, the label in any language or an alias, ignoring case and accents.
import { normalizeWord } from '../../i18n.ts';
import { asciiDigits } from '../../format.ts';
import type { Choice, StepContext } from '../../types.ts';
import type { AskSpec, AskType, Parsed } from './index.ts';

export const choice: AskType = {
  type: 'choice',
  choices: (spec, ctx) => labelled(spec, ctx),
  parse: (input, spec, ctx) => matchChoice(input.choice, input.text, Object.keys(spec.choices ?? {}), (id) => choiceWords(id, spec, ctx)),
};

/**
 * What may name a choice besides its number and id: its label in every language, the
 * label's first words ("Oui" for "Oui, je viens"), its aliases, and for the ids `yes`
 * and `no` every language's words for yes and no.
 */
export function choiceWords(id: string, spec: AskSpec, ctx: StepContext): string[] {
  const labels = ctx.allTexts(spec.choices![id]!);
  const words = [...labels, ...labels.map((label) => label.split(/[,.;:!?،]/)[0]!.trim()), ...(spec.aliases?.[id] ?? [])];
  if (id === 'yes' || id === 'no') words.push(...ctx.allTexts(`common.${id}`), ...ctx.allTexts(`common.${id}_words`).flatMap((list) => list.split(',')));
  return words;
}

export function labelled(spec: AskSpec, ctx: StepContext): Choice[] {
  return Object.entries(spec.choices ?? {}).map(([id, label]) => ({ id, label: ctx.render(label) }));
}

/** Finds the choice a supporter meant among `ids`; `words(id)` lists what else may name it. */
export function matchChoice(pressed: string | undefined, text: string, ids: string[], words: (id: string) => string[]): Parsed {
  if (pressed && ids.includes(pressed)) return { ok: true, value: pressed };
  const typed = normalizeWord(asciiDigits(text));
  if (!typed) return { ok: false };
  const number = Number(typed);
  if (/^\d+$/.test(typed) && number >= 1 && number <= ids.length) return { ok: true, value: ids[number - 1] };
  for (const id of ids) {
    if ([id, ...words(id)].some((word) => normalizeWord(word) === typed)) return { ok: true, value: id };
  }
  return { ok: false };
}
