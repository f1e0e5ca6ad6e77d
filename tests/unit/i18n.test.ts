import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatDate, isolate } from '../../engine/format.ts';
import { formatProblem } from '../../engine/flows/loader.ts';
import { loadFlowSet } from '../../engine/flows/validate.ts';
import { normalizeWord, Translator } from '../../engine/i18n.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const i18n = Translator.load(join(ROOT, 'locales'), 'en');
const contact = (language: string, timezone: string | null = null) => ({ contact: { id: 1, name: 'Amina', language, timezone } });

describe('texts', () => {
  test('the language is picked from the stored choice, then the hint (its base), then the default', () => {
    expect(i18n.pickLanguage('ru', 'fr')).toBe('ru');
    expect(i18n.pickLanguage(null, 'fr-CA')).toBe('fr');
    expect(i18n.pickLanguage(null, 'es')).toBe('en');
  });

  test('plural forms follow each language (people ahead on a waiting list)', () => {
    const waitlisted = (language: string, count: number) => i18n.render('common.rsvp.waitlisted', language, { ...contact(language), event: { title: 'X' }, count }, { count });
    expect(waitlisted('ru', 1)).toContain('перед вами 1 человек.');
    expect(waitlisted('ru', 3)).toContain('перед вами 3 человека.');
    expect(waitlisted('ru', 5)).toContain('перед вами 5 человек.');
    expect(waitlisted('ar', 0)).toContain('ولا أحد قبلك');
    expect(waitlisted('ar', 2)).toContain('وقبلك شخصان');
    expect(waitlisted('ar', 11)).toContain('شخصًا');
    expect(waitlisted('en', 1)).toContain('1 person is ahead of you');
    expect(waitlisted('fr', 2)).toContain('2 personnes sont avant vous');
  });

  test('{{t key}} translates keys; any other value is printed as it is, never run as a template', () => {
    const render = (value: string) => i18n.render({ en: '{{t vars.value}}' }, 'en', { ...contact('en'), vars: { value } });
    expect(render('common.yes')).toBe('Yes');
    expect(render('my id is {{contact.id}}')).toBe('my id is {{contact.id}}');
  });

  test('dates, times and numbers in the contact language and timezone; a calendar date stays the same day', () => {
    const at = new Date('2030-03-31T23:30:00Z');
    expect(i18n.render({ en: '{{datetime when}}' }, 'en', { ...contact('en', 'America/New_York'), when: at })).toBe('Sunday, March 31 at 7:30 PM');
    expect(i18n.render({ en: '{{datetime when}}' }, 'ru', { ...contact('ru', 'Europe/Moscow'), when: at })).toBe('понедельник, 1 апреля в 02:30');
    expect(i18n.render({ en: '{{time when timezone="Asia/Beirut"}}' }, 'fr', { ...contact('fr'), when: at })).toBe('02:30');
    expect(formatDate('2027-03-12', 'en', 'America/New_York')).toBe('Friday, March 12');
    expect(i18n.render({ en: '{{number n}}' }, 'fr', { ...contact('fr'), n: 12345.5 })).toBe('12\u202f345,5');
  });

  test('in Arabic, Latin names and numbers are isolated so they keep their order', () => {
    expect(i18n.render('subscribe.ask_consent', 'ar', contact('ar'))).toBe('شكرًا لك يا \u2068Amina\u2069. هل نرسل إليك الأخبار والتنبيهات هنا؟');
    expect(isolate('أمينة', 'ar')).toBe('أمينة');
    expect(isolate('Amina', 'fr')).toBe('Amina');
  });

  test('typed words compare without case, accents or punctuation; emoji are words', () => {
    expect(normalizeWord(' Arrêt! ')).toBe('arret');
    expect(normalizeWord('👍')).toBe('👍');
    expect(normalizeWord('إيقاف')).toBe(normalizeWord('ايقاف'));
  });
});

describe('locale problems', () => {
  test('a broken template, a missing engine text, a missing plural form and a keyword with a space are reported with their file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tocsin-locales-'));
    try {
      cpSync(join(ROOT, 'locales'), dir, { recursive: true });
      const edit = (file: string, change: (data: any) => void) => {
        const data = JSON.parse(readFileSync(join(dir, file), 'utf8'));
        change(data);
        writeFileSync(join(dir, file), JSON.stringify(data, null, 2));
      };
      edit('fr/common.json', (data) => {
        data.fallback = 'Bonjour {{#if contact.name}}!';
        delete data.stopped;
      });
      edit('ru/common.json', (data) => delete data.rsvp.waitlisted_few);
      edit('ar/triggers.json', (data) => data.keywords.survey.push('استطلاع رأي'));
      const translator = Translator.load(dir, 'en');
      const problems = loadFlowSet(join(ROOT, 'flows'), translator, dir).problems.map((problem) => formatProblem({ ...problem, path: problem.path.replace(dir, 'locales') }));
      expect(problems).toEqual([
        'locales/ar/triggers.json:28:7: "استطلاع رأي" has a space: STOP/START words and keywords are single words (the first word of a message)',
        'locales/fr/common.json:1:1: "stopped" is missing: the engine says it to supporters in fr',
        'locales/fr/common.json:15:3: "fallback" is not a valid template: Parse error on line 1: unexpected \'EOF\'',
        'locales/ru/common.json:20:5: "rsvp.waitlisted" needs the plural form few in ru',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
