import { LocaleProvider } from '@plesk/ui-library';
import { render, screen } from '@testing-library/react';
import { createElement } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { pluralText } from './plural';
import { useText } from './text';

function Shown({ count }: { count: number }) {
  const text = useText();
  return <p>{pluralText(text, 'selected', count)}</p>;
}

const messages = { selected: { one: '%%count%% selected email address', few: '%%count%% адреса', other: '%%count%% selected email addresses' } };

afterEach(() => {
  document.documentElement.lang = '';
});

describe('pluralText', () => {
  it("picks the form of the count's plural category in the page's language", () => {
    render(<LocaleProvider messages={messages}><Shown count={1} /><Shown count={2} /></LocaleProvider>);
    expect(screen.getByText('1 selected email address')).toBeInTheDocument();
    expect(screen.getByText('2 selected email addresses')).toBeInTheDocument();
  });

  it('falls back to "other" where a language has a category the messages lack', () => {
    document.documentElement.lang = 'ru';
    render(<LocaleProvider messages={messages}><Shown count={3} /><Shown count={5} /></LocaleProvider>);
    expect(screen.getByText('3 адреса')).toBeInTheDocument();
    // Russian "many" is missing from these messages: "other" answers instead of "[selected.many]".
    expect(screen.getByText('5 selected email addresses')).toBeInTheDocument();
  });
});
