// `type: language`: one of the languages in locales/, each shown in its own name
// (`language_name` in its common.json). Saves the language code.
import type { AskType } from './index.ts';
import { matchChoice } from './choice.ts';

export const language: AskType = {
  type: 'language',
  choices: (_spec, ctx) => ctx.languages.map((code) => ({ id: code, label: ctx.allTexts('common.language_name')[ctx.languages.indexOf(code)] ?? code })),
  parse: (input, _spec, ctx) => {
    const names = ctx.allTexts('common.language_name');
    return matchChoice(input.choice, input.text, ctx.languages, (code) => [names[ctx.languages.indexOf(code)] ?? code]);
  },
};
