// STOP and START words, in every language: handled before any flow.
import { normalizeWord, type Translator } from '../i18n.ts';

export interface TriggerWords {
  /** The language the word belongs to, when a message is exactly a STOP word. */
  stop(text: string): string | undefined;
  start(text: string): string | undefined;
}

export function triggerWords(i18n: Translator): TriggerWords {
  const stop = new Map<string, string>();
  const start = new Map<string, string>();
  // The default language last, so that a word shared by several languages answers in it.
  const languages = [...i18n.languages.filter((language) => language !== i18n.defaultLanguage), i18n.defaultLanguage];
  for (const language of languages) {
    const triggers = i18n.triggers(language);
    for (const word of triggers.stop) stop.set(normalizeWord(word), language);
    for (const word of triggers.start) start.set(normalizeWord(word), language);
  }
  const match = (words: Map<string, string>) => (text: string) => {
    const trimmed = text.trim();
    // Only a message that is the word alone: "stop the war" is not an unsubscribe.
    if (!trimmed || /\s/.test(trimmed)) return undefined;
    return words.get(normalizeWord(trimmed));
  };
  return { stop: match(stop), start: match(start) };
}
