import { describe, expect, it } from 'vitest';
import { decodeEncodedWords, displaySubject, MAX_SUBJECT_LENGTH } from './header-text.js';
/** A header as it comes from a queue file: its bytes, one character each. */
const bytes = (text: string) => Buffer.from(text, 'utf8').toString('latin1');


describe('header text for people', () => {
  it('decodes RFC 2047 B and Q encoded-words, joining adjacent ones', () => {
    expect(decodeEncodedWords('=?UTF-8?B?R3LDvMOfZQ==?= aus =?iso-8859-1?Q?K=F6ln_am_Rhein?=')).toBe('Grüße aus Köln am Rhein');
    expect(decodeEncodedWords('=?utf-8?q?Pr=C3=BCfung?= =?utf-8?q?_bestanden?=')).toBe('Prüfung bestanden');
    expect(decodeEncodedWords('=?koi8-r?B?8NLJ18XU?=')).toBe('Привет');
  });

  it('keeps a word it cannot decode as written', () => {
    expect(decodeEncodedWords('=?x-unknown?B?QUJD?= and =?utf-8?B?***?=')).toBe('=?x-unknown?B?QUJD?= and =?utf-8?B?***?=');
  });

  it('raw UTF-8 bytes are UTF-8; other 8-bit bytes are Latin-1', () => {
    expect(displaySubject(Buffer.from('Grüße', 'utf8').toString('latin1'))).toBe('Grüße');
    expect(displaySubject(Buffer.from([0x4b, 0xf6, 0x6c, 0x6e]).toString('latin1'))).toBe('Köln');
  });

  it('markup stays text; control and direction-changing characters go; folding becomes one line', () => {
    expect(displaySubject('<img src=x onerror=alert(1)>')).toBe('<img src=x onerror=alert(1)>');
    expect(displaySubject(bytes('Invoice\u202Efdp.exe\u0007\u0000 =?utf-8?B?4oCu?=x'))).toBe('Invoicefdp.exe x');
    expect(displaySubject('first\r\n\tsecond')).toBe('first second');
  });

  it('is bounded: a long subject is cut with an ellipsis, never inside a character', () => {
    const long = displaySubject(bytes('😀'.repeat(5000)));
    expect(Array.from(long)).toHaveLength(MAX_SUBJECT_LENGTH);
    expect(long.endsWith('😀…')).toBe(true);
    const words = Array.from({ length: 1000 }, () => '=?utf-8?B?QQ==?=').join(' ');
    expect(displaySubject(words).length).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
  });
});
