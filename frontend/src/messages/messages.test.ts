import { describe, expect, it } from 'vitest';
import { deDE } from './de-DE';
import { enUS } from './en-US';
import { isPluralGroup, type MessageTree } from './message-tree';
import { ruRU } from './ru-RU';

/** What is wrong with `translation` against en-US: missing or extra keys, placeholders that differ, plural forms. */
export function differences(source: MessageTree, translation: MessageTree, locale: string, path = ''): string[] {
  const problems: string[] = [];
  const placeholders = (text: string) => [...text.matchAll(/%%(\w+)%%/g)].map((m) => m[1]).sort().join(',');
  if (isPluralGroup(source)) {
    // Each language has its own plural forms: exactly the categories Intl.PluralRules knows for it.
    const wanted = [...new Intl.PluralRules(locale).resolvedOptions().pluralCategories].sort();
    const got = Object.keys(translation).sort();
    if (wanted.join(',') !== got.join(',')) problems.push(`${path}: plural forms ${got.join(',')}, wanted ${wanted.join(',')}`);
    const expected = placeholders(String(source.other));
    for (const [category, text] of Object.entries(translation)) {
      if (typeof text !== 'string') problems.push(`${path}.${category}: not a text`);
      else if (placeholders(text) !== expected) problems.push(`${path}.${category}: placeholders ${placeholders(text)}, wanted ${expected}`);
    }
    return problems;
  }
  for (const key of Object.keys(source)) {
    const here = path ? `${path}.${key}` : key;
    const from = source[key] as string | MessageTree;
    const to = translation[key];
    if (to === undefined) problems.push(`${here}: missing`);
    else if (typeof from === 'string') {
      if (typeof to !== 'string') problems.push(`${here}: a group where en-US has a text`);
      else if (to.trim() === '') problems.push(`${here}: empty`);
      else if (placeholders(to) !== placeholders(from)) problems.push(`${here}: placeholders ${placeholders(to)}, wanted ${placeholders(from)}`);
    } else if (typeof to === 'string') problems.push(`${here}: a text where en-US has a group`);
    else problems.push(...differences(from, to, locale, here));
  }
  for (const key of Object.keys(translation)) if (!(key in source)) problems.push(`${path ? `${path}.` : ''}${key}: not in en-US`);
  return problems;
}

describe('locale messages', () => {
  it.each([['de-DE', deDE], ['ru-RU', ruRU]] as const)('%s has every key of en-US, no other, and the same placeholders', (locale, messages) => {
    expect(differences(enUS, messages, locale)).toEqual([]);
  });

  it('en-US itself has the plural forms English needs', () => {
    expect(differences(enUS, enUS, 'en-US')).toEqual([]);
  });

  it('reports a missing key, an extra key, a changed placeholder and a missing Russian plural form', () => {
    const source: MessageTree = { a: { b: 'Hello %%name%%', c: 'x' }, n: { one: '%%count%% item', other: '%%count%% items' } };
    const broken: MessageTree = { a: { b: 'Hallo %%login%%', extra: 'y' }, n: { one: '%%count%% штука', other: '%%count%% штуки' } };
    expect(differences(source, broken, 'ru-RU')).toEqual([
      'a.b: placeholders login, wanted name',
      'a.c: missing',
      'a.extra: not in en-US',
      'n: plural forms one,other, wanted few,many,one,other',
    ]);
  });
});
