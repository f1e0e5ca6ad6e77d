// `type: yes_no`: Yes or No in the contact's language; also 1/2, "y", "oui", "да", "نعم"
// and the other words each language lists in common.json (`yes_words`, `no_words`).
import type { AskType } from './index.ts';
import { choiceWords, matchChoice } from './choice.ts';

export const yesNo: AskType = {
  type: 'yes_no',
  choices: (_spec, ctx) => [
    { id: 'yes', label: ctx.render('common.yes') },
    { id: 'no', label: ctx.render('common.no') },
  ],
  parse: (input, _spec, ctx) => matchChoice(input.choice, input.text, ['yes', 'no'], (id) => choiceWords(id, { type: 'yes_no', choices: { [id]: `common.${id}` } }, ctx)),
};
