// Languages: `locales/<lang>/<namespace>.json`, read with i18next. Adding a language is
// adding a folder. Flow texts are i18n keys (`subscribe.ask_name` lives in flows.json,
// `common.yes` in common.json) rendered through handlebars for the contact at hand.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import Handlebars from 'handlebars';
import i18next, { type i18n } from 'i18next';
import { TocsinError } from './errors.ts';
import type { Text } from './types.ts';

export interface Triggers {
  stop: string[];
  start: string[];
  /** flow id -> the words that start it in this language */
  keywords: Record<string, string[]>;
}

const DEFAULT_NAMESPACE = 'flows';

export class Translator {
  readonly languages: string[];
  private readonly i18n: i18n;
  private readonly namespaces: Set<string>;
  private readonly templates = new Map<string, HandlebarsTemplateDelegate>();
  private readonly handlebars = Handlebars.create();

  constructor(
    resources: Record<string, Record<string, unknown>>,
    readonly defaultLanguage: string,
  ) {
    this.languages = Object.keys(resources).sort();
    this.namespaces = new Set(Object.values(resources).flatMap((byNamespace) => Object.keys(byNamespace)));
    this.i18n = i18next.createInstance();
    this.i18n.init({
      resources: resources as any,
      lng: defaultLanguage,
      fallbackLng: defaultLanguage,
      ns: [...this.namespaces],
      defaultNS: DEFAULT_NAMESPACE,
      initAsync: false,
      interpolation: { escapeValue: false },
      returnNull: false,
    });
  }

  /** Reads every `<dir>/<lang>/<namespace>.json`. */
  static load(dir: string, defaultLanguage: string): Translator {
    if (!existsSync(dir)) throw new TocsinError(`the locales folder ${dir} does not exist (set LOCALES_DIR)`);
    const resources: Record<string, Record<string, unknown>> = {};
    for (const language of readdirSync(dir, { withFileTypes: true })) {
      if (!language.isDirectory()) continue;
      const byNamespace: Record<string, unknown> = {};
      for (const file of readdirSync(join(dir, language.name))) {
        if (!file.endsWith('.json')) continue;
        const path = join(dir, language.name, file);
        try {
          byNamespace[basename(file, '.json')] = JSON.parse(readFileSync(path, 'utf8'));
        } catch (error) {
          throw new TocsinError(`${path}: not valid JSON (${(error as Error).message})`);
        }
      }
      resources[language.name] = byNamespace;
    }
    if (!resources[defaultLanguage]) throw new TocsinError(`DEFAULT_LANGUAGE is ${defaultLanguage} but ${dir} has no ${defaultLanguage}/ folder`);
    return new Translator(resources, defaultLanguage);
  }

  supports(language: string | undefined | null): language is string {
    return !!language && this.languages.includes(language);
  }

  /** The contact's stored choice, then the channel's hint, then the default. */
  pickLanguage(stored: string | null | undefined, hint?: string | null): string {
    if (this.supports(stored)) return stored;
    const base = hint?.toLowerCase().split(/[-_]/)[0];
    if (this.supports(base)) return base;
    return this.defaultLanguage;
  }

  has(language: string, key: string): boolean {
    const { ns, path } = this.split(key);
    return this.i18n.exists(path, { lng: language, ns, fallbackLng: false } as any);
  }

  /** The raw text of a key or inline map in one language (default language as fallback). */
  text(text: Text, language: string, options: Record<string, unknown> = {}): string {
    if (typeof text !== 'string') return text[language] ?? text[this.defaultLanguage] ?? Object.values(text)[0] ?? '';
    const { ns, path } = this.split(text);
    return this.i18n.t(path, { lng: language, ns, skipInterpolation: true, ...options } as any) as string;
  }

  /** Every language's version of a text: to recognise an answer typed in any of them. */
  allTexts(text: Text): string[] {
    return this.languages.map((language) => this.text(text, language));
  }

  /** Translates, then renders the handlebars template with `data`. Supporters' values are data, never templates. */
  render(text: Text, language: string, data: Record<string, unknown>): string {
    const source = this.text(text, language);
    let template = this.templates.get(source);
    if (!template) {
      template = this.handlebars.compile(source, { noEscape: true });
      this.templates.set(source, template);
    }
    return template(data);
  }

  triggers(language: string): Triggers {
    const raw = this.i18n.getResourceBundle(language, 'triggers') as Partial<Triggers> | undefined;
    return { stop: raw?.stop ?? [], start: raw?.start ?? [], keywords: raw?.keywords ?? {} };
  }

  private split(key: string): { ns: string; path: string } {
    const dot = key.indexOf('.');
    const first = dot > 0 ? key.slice(0, dot) : '';
    if (first && first !== DEFAULT_NAMESPACE && this.namespaces.has(first)) return { ns: first, path: key.slice(dot + 1) };
    return { ns: DEFAULT_NAMESPACE, path: key };
  }
}

/** Lower case, no accents, no surrounding punctuation: how typed words are compared. */
export function normalizeWord(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLocaleLowerCase()
    .replace(/^[\p{P}\p{S}\p{Z}\p{Cf}]+|[\p{P}\p{S}\p{Z}\p{Cf}]+$/gu, '');
}
