import { resolve } from 'node:path';
import { Translator } from '../../engine/i18n.ts';
import { KeyedQueue } from '../../engine/pipeline/queue.ts';
import { sanitizeText } from '../../engine/pipeline/sanitize.ts';
import { triggerWords } from '../../engine/pipeline/triggers.ts';

const i18n = Translator.load(resolve(import.meta.dirname, '../../locales'), 'en');

describe('sanitizing inbound text', () => {
  test('keeps emoji, RTL marks and control characters; replaces NUL and broken surrogates', () => {
    const text = 'مرحبا \u200F👩🏽‍🚀 \u202Eevil\u202C \u0007';
    expect(sanitizeText(text, 8000)).toEqual({ text, truncated: false });
    expect(sanitizeText('a\u0000b\uD800c', 8000).text).toBe('a\uFFFDb\uFFFDc');
  });

  test('cuts long text at the limit without splitting an emoji', () => {
    expect(sanitizeText('x'.repeat(100_000), 8000)).toEqual({ text: 'x'.repeat(8000), truncated: true });
    expect(sanitizeText(`${'x'.repeat(7999)}😀`, 8000).text).toBe('x'.repeat(7999));
  });
});

describe('STOP and START words', () => {
  const words = triggerWords(i18n);
  test.each([
    ['STOP', 'en'],
    [' stop! ', 'en'],
    ['Arrêt', 'fr'],
    ['ARRET', 'fr'],
    ['توقف', 'ar'],
    ['Стоп', 'ru'],
  ])('%j stops (%s)', (text, language) => expect(words.stop(text)).toBe(language));

  test.each(['stop the war', 'stopping', '', 'non-stop'])('%j does not stop', (text) => expect(words.stop(text)).toBeUndefined());

  test('START in each language', () => {
    expect(['start', 'Démarrer', 'ابدأ', 'СТАРТ'].map((text) => words.start(text))).toEqual(['en', 'fr', 'ar', 'ru']);
  });
});

describe('keyed queue', () => {
  test('one run per key at a time; a call during a run gets a run after it', async () => {
    const log: string[] = [];
    let active = 0;
    const queue = new KeyedQueue<number>(async (key) => {
      active++;
      expect(active).toBe(1);
      log.push(`start ${key}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      log.push(`end ${key}`);
      active--;
    });
    await Promise.all([queue.run(1), queue.run(1), queue.run(1)]);
    expect(log).toEqual(['start 1', 'end 1', 'start 1', 'end 1']);
    await queue.idle();
    expect(queue.size).toBe(0);
  });
});
