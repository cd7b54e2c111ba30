/** A locale's messages: nested groups of texts, as ui-library's LocaleProvider takes them. */
export interface MessageTree {
  [key: string]: string | MessageTree;
}

/** Intl.PluralRules' category names: a group whose keys are only these holds one text per plural form. */
export const PLURAL_CATEGORIES: readonly string[] = ['zero', 'one', 'two', 'few', 'many', 'other'];

export function isPluralGroup(group: MessageTree): boolean {
  const keys = Object.keys(group);
  return keys.length > 0 && keys.includes('other') && keys.every((key) => PLURAL_CATEGORIES.includes(key));
}
