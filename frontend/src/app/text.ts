import { useTranslate } from '@plesk/ui-library';
import { useCallback } from 'react';

export type TextParams = Record<string, string | number>;

/** The LocaleProvider's translation as plain text (for labels and aria attributes as well as content). */
export function useText(): (key: string, params?: TextParams) => string {
  const translate = useTranslate();
  return useCallback((key: string, params?: TextParams) => {
    const result = translate(key, params);
    return Array.isArray(result) ? result.join('') : String(result);
  }, [translate]);
}
