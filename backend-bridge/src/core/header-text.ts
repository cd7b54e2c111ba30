/**
 * A message header as people may read it: whoever sent the message wrote it, so it is decoded (RFC 2047
 * encoded-words, raw UTF-8), stripped of anything that could change how the text around it looks (control
 * characters, bidirectional overrides) and bounded. The result is plain text: screens must show it as text,
 * never as markup.
 */

/** The longest subject shown; the rest is cut with an ellipsis. */
export const MAX_SUBJECT_LENGTH = 200;

/** More encoded-words than this in one header is no subject anyone wrote: the rest is left as it is. */
const MAX_ENCODED_WORDS = 100;

const ENCODED_WORD = /=\?([^?\s]{1,64})\?([BbQq])\?([^?\s]*)\?=/g;

/** Control characters, and the bidirectional controls that can make text display in another order than it is. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** Header bytes (as a latin1 string) that are valid UTF-8 are UTF-8 (RFC 6532); others are taken as Latin-1. */
export function headerBytesToText(latin1: string): string {
  const bytes = Buffer.from(latin1, 'latin1');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return latin1;
  }
}

function decodeWord(charset: string, encoding: string, data: string): string | null {
  let bytes: Buffer;
  if (encoding === 'B' || encoding === 'b') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) return null;
    bytes = Buffer.from(data, 'base64');
  } else {
    const text = data.replace(/_/g, ' ');
    const out: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const hex = text[i] === '=' ? /^[0-9A-Fa-f]{2}$/.exec(text.slice(i + 1, i + 3)) : null;
      if (hex) {
        out.push(parseInt(hex[0], 16));
        i += 2;
      } else {
        out.push(text.charCodeAt(i) & 0xff);
      }
    }
    bytes = Buffer.from(out);
  }
  // RFC 2231 allows a language after "*": "utf-8*en".
  const label = charset.split('*')[0]!.toLowerCase();
  try {
    return new TextDecoder(label).decode(bytes);
  } catch {
    return null; // An unknown charset: the word stays as it was written.
  }
}

/**
 * Decodes RFC 2047 encoded-words; whitespace between two adjacent encoded-words is dropped, as the RFC says.
 * A word that cannot be decoded (unknown charset, bad base64) is kept as written.
 */
export function decodeEncodedWords(text: string): string {
  let result = '';
  let last = 0;
  let lastWasEncoded = false;
  let count = 0;
  for (const match of text.matchAll(ENCODED_WORD)) {
    if (++count > MAX_ENCODED_WORDS) break;
    const decoded = decodeWord(match[1]!, match[2]!, match[3]!);
    const between = text.slice(last, match.index);
    if (decoded === null) {
      result += between + match[0];
      lastWasEncoded = false;
    } else {
      result += lastWasEncoded && /^[ \t\r\n]*$/.test(between) ? decoded : between + decoded;
      lastWasEncoded = true;
    }
    last = match.index + match[0].length;
  }
  return result + text.slice(last);
}

/**
 * The subject as shown: decoded, unfolded, without control characters, at most MAX_SUBJECT_LENGTH characters
 * (cut on a character, not inside a surrogate pair).
 */
export function displaySubject(raw: string): string {
  const text = decodeEncodedWords(headerBytesToText(raw))
    .replace(/\r?\n[ \t]*/g, ' ')
    .replace(/\t/g, ' ')
    .replace(UNSAFE, '')
    .trim();
  const characters = Array.from(text);
  return characters.length <= MAX_SUBJECT_LENGTH ? text : `${characters.slice(0, MAX_SUBJECT_LENGTH - 1).join('')}…`;
}
