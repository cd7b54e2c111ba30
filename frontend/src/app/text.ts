import { useTranslate } from '@plesk/ui-library';
import { useCallback } from 'react';
import { formatNumber } from './locale';

export type TextParams = Record<string, string | number>;

/** Numbers among the params in the locale's format ("1.000" in de-DE); texts as they are. */
function localized(params: TextParams | undefined): Record<string, string> | undefined {
  if (!params) return undefined;
  return Object.fromEntries(Object.entries(params).map(([name, value]) => [name, typeof value === 'number' ? formatNumber(value) : value]));
}

/** The LocaleProvider's translation as plain text (for labels and aria attributes as well as content). */
export function useText(): (key: string, params?: TextParams) => string {
  const translate = useTranslate();
  return useCallback((key: string, params?: TextParams) => {
    const result = translate(key, localized(params));
    return Array.isArray(result) ? result.join('') : String(result);
  }, [translate]);
}
