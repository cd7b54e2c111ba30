import { pageLocale } from './locale';
import type { TextParams } from './text';

type Text = (key: string, params?: TextParams) => string;

/**
 * A text with plural forms: `key` holds one message per plural category of the page's language ("one",
 * "few", "many", "other", as Intl.PluralRules names them); "other" is the fallback every language has.
 */
export function pluralText(text: Text, key: string, count: number, params: TextParams = {}): string {
  const category = new Intl.PluralRules(pageLocale()).select(count);
  const wanted = `${key}.${category}`;
  const found = text(wanted, { ...params, count });
  // ui-library answers a missing key with "[key]".
  return found === `[${wanted}]` ? text(`${key}.other`, { ...params, count }) : found;
}
