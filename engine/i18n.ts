// Languages: `locales/<lang>/<namespace>.json`, read with i18next. Adding a language is
// adding a folder. Flow texts are i18n keys (`subscribe.ask_name` lives in flows.json,
// `common.yes` in common.json) or inline maps per language, rendered through handlebars
// for the contact at hand, with helpers for plurals, dates, times and numbers.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import Handlebars from 'handlebars';
import i18next, { type i18n } from 'i18next';
import { TocsinError } from './errors.ts';
import { formatDate, formatNumber, isolate, isolateAll, type DateStyle } from './format.ts';
import type { Text } from './types.ts';

export interface Triggers {
  stop: string[];
  start: string[];
  /** flow id -> the words that start it in this language */
  keywords: Record<string, string[]>;
}

export type Resources = Record<string, Record<string, unknown>>;

const DEFAULT_NAMESPACE = 'flows';

/** The texts the engine itself says or reads (not the flows): every language needs them. */
export const ENGINE_TEXTS = [
  'common.language_name',
  'common.yes',
  'common.no',
  'common.yes_words',
  'common.no_words',
  'common.today_words',
  'common.tomorrow_words',
  'common.retry',
  'common.retry_number',
  'common.retry_multi',
  'common.retry_email',
  'common.retry_phone',
  'common.retry_date',
  'common.fallback',
  'common.stopped',
  'common.restarted',
  'common.rsvp.confirmed',
  'common.rsvp.waitlisted',
  'common.rsvp.declined',
  'common.rsvp.maybe',
  'common.rsvp.closed',
  'common.rsvp.unknown_event',
  'common.rsvp.promoted',
  'common.event_reminder',
  'common.event_cancelled',
  'common.unsubscribe.title',
  'common.unsubscribe.question',
  'common.unsubscribe.button',
  'common.unsubscribe.done',
  'common.unsubscribe.link',
  'common.email_reply_hint',
];

export class Translator {
  languages: string[] = [];
  private i18n!: i18n;
  private namespaces = new Set<string>();
  private resources: Resources = {};
  private readonly templates = new Map<string, HandlebarsTemplateDelegate>();
  private readonly handlebars = Handlebars.create();

  constructor(
    resources: Resources,
    readonly defaultLanguage: string,
  ) {
    this.registerHelpers();
    this.replace(resources);
  }

  /** Reads every `<dir>/<lang>/<namespace>.json`. */
  static load(dir: string, defaultLanguage: string): Translator {
    return new Translator(readLocales(dir, defaultLanguage), defaultLanguage);
  }

  /** Takes new texts (after an edit of locales/); templates compiled before are dropped. */
  replace(resources: Resources) {
    const instance = i18next.createInstance();
    const namespaces = new Set(Object.values(resources).flatMap((byNamespace) => Object.keys(byNamespace)));
    instance.init({
      resources: resources as any,
      lng: this.defaultLanguage,
      fallbackLng: this.defaultLanguage,
      ns: [...namespaces],
      defaultNS: DEFAULT_NAMESPACE,
      initAsync: false,
      interpolation: { escapeValue: false },
      returnNull: false,
    });
    this.i18n = instance;
    this.namespaces = namespaces;
    this.resources = resources;
    this.languages = Object.keys(resources).sort();
    this.templates.clear();
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

  /** Whether `key` has a text in `language` itself (no fallback). Plural keys count by their forms. */
  has(language: string, key: string): boolean {
    const { ns, path } = this.split(key);
    const bundle = this.resources[language]?.[ns];
    return lookup(bundle, path) !== undefined || lookup(bundle, `${path}_other`) !== undefined;
  }

  /** Whether `key` is a text in any language. */
  exists(key: string): boolean {
    return this.languages.some((language) => this.has(language, key));
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

  /**
   * Translates, then renders the handlebars template with `data` (which must hold
   * `contact`). Supporters' values are data, never templates; in right-to-left
   * languages they are isolated so that Latin names and numbers keep their order.
   */
  render(text: Text, language: string, data: Record<string, unknown>, options: Record<string, unknown> = {}, how: { isolate?: boolean } = {}): string {
    const source = this.text(text, language, options);
    let template = this.templates.get(source);
    if (!template) {
      template = this.handlebars.compile(source, { noEscape: true, strict: false });
      this.templates.set(source, template);
    }
    const timezone = (data.contact as { timezone?: string | null } | undefined)?.timezone ?? undefined;
    return template(how.isolate === false ? data : isolateAll(data, language), { data: { language, timezone } });
  }

  /** Throws when a text is not a valid template (for the validator). */
  checkTemplate(source: string) {
    this.handlebars.precompile(source);
  }

  triggers(language: string): Triggers {
    const raw = this.resources[language]?.triggers as Partial<Triggers> | undefined;
    return { stop: raw?.stop ?? [], start: raw?.start ?? [], keywords: raw?.keywords ?? {} };
  }

  /** The raw texts of one namespace in one language. */
  bundle(language: string, namespace: string): unknown {
    return this.resources[language]?.[namespace];
  }

  /** Every key of `namespace` in `language`, dotted (`subscribe.ask_name`), plural forms folded. */
  keys(language: string, namespace: string): string[] {
    const found = new Set<string>();
    const walk = (node: unknown, prefix: string) => {
      if (node && typeof node === 'object' && !Array.isArray(node)) {
        for (const [key, child] of Object.entries(node)) walk(child, prefix ? `${prefix}.${key}` : key);
      } else {
        found.add(prefix.replace(/_(zero|one|two|few|many|other)$/, ''));
      }
    };
    walk(this.resources[language]?.[namespace], '');
    return [...found];
  }

  private split(key: string): { ns: string; path: string } {
    const dot = key.indexOf('.');
    const first = dot > 0 ? key.slice(0, dot) : '';
    if (first && first !== DEFAULT_NAMESPACE && this.namespaces.has(first)) return { ns: first, path: key.slice(dot + 1) };
    return { ns: DEFAULT_NAMESPACE, path: key };
  }

  private registerHelpers() {
    const translator = this;
    const context = (options: Handlebars.HelperOptions) => options.data as { language: string; timezone?: string; root: Record<string, any> };
    // {{t "rsvp.waitlisted" count=position}}: a translated text, with plural forms by count.
    this.handlebars.registerHelper('t', function (this: unknown, key: string, options: Handlebars.HelperOptions) {
      const { language, root } = context(options);
      key = String(key).replace(/[\u2068\u2069]/g, ''); // a key read from data may carry bidi isolates
      // Only keys are translated and rendered; any other value (a supporter's text) is printed as it is.
      if (!translator.exists(key)) return key;
      const hash = options.hash as Record<string, unknown>;
      const count = typeof hash.count === 'number' ? hash.count : hash.count === undefined ? undefined : Number(hash.count);
      return translator.render(String(key), language, { ...root, ...hash, count: count === undefined ? undefined : formatNumber(count, language) }, count === undefined ? {} : { count });
    });
    const dateHelper = (style: DateStyle) =>
      function (value: unknown, options: Handlebars.HelperOptions) {
        if (value === undefined || value === null || value === '') return '';
        const { language, timezone } = context(options);
        // The contact's own timezone first; `timezone=` (the event's) when theirs is unknown.
        // (Values from data may carry bidi isolates: they are not part of the name.)
        const zone = timezone ?? stripIsolates((options.hash as { timezone?: string }).timezone);
        const when = typeof value === 'string' ? stripIsolates(value)! : (value as Date);
        return isolate(formatDate(when, language, zone, style), language);
      };
    this.handlebars.registerHelper('date', dateHelper('date'));
    this.handlebars.registerHelper('time', dateHelper('time'));
    this.handlebars.registerHelper('datetime', dateHelper('datetime'));
    this.handlebars.registerHelper('number', function (value: unknown, options: Handlebars.HelperOptions) {
      const { language } = context(options);
      const number = Number(value);
      return Number.isFinite(number) ? isolate(formatNumber(number, language), language) : '';
    });
  }
}

const stripIsolates = (text: string | undefined) => text?.replace(/[\u2068\u2069]/g, '');

/** Reads a locales folder into i18next resources; errors name the file. */
export function readLocales(dir: string, defaultLanguage: string): Resources {
  if (!existsSync(dir)) throw new TocsinError(`the locales folder ${dir} does not exist (set LOCALES_DIR)`);
  const resources: Resources = {};
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
  return resources;
}

function lookup(node: unknown, path: string): unknown {
  let current = node;
  for (const part of path.split('.')) {
    if (!current || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/**
 * Lower case, no accents, no surrounding punctuation or spaces: how typed words are
 * compared. Symbols stay, so that an emoji (👍) is a word too.
 */
export function normalizeWord(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLocaleLowerCase()
    .replace(/^[\p{P}\p{Z}\p{Cf}]+|[\p{P}\p{Z}\p{Cf}]+$/gu, '');
}
