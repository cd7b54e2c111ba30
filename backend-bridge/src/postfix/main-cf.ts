/**
 * Text edits of Postfix's main.cf that touch nothing but the parameter being changed, so that undoing them
 * gives the file back byte for byte. A parameter's "logical line" is `name = value` plus the continuation
 * lines below it (lines that start with white space); when a name appears more than once, the last one wins,
 * as in Postfix.
 */

export interface ParameterSpan {
  /** Offset of the first character of the logical line. */
  start: number;
  /** Offset just after the logical line's final newline (or the end of the file). */
  end: number;
  text: string;
  value: string;
}

export function findParameter(mainCf: string, name: string): ParameterSpan | null {
  const lines = mainCf.split(/(?<=\n)/);
  let offset = 0;
  let found: ParameterSpan | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const match = /^([A-Za-z0-9_.-]+)\s*=/.exec(line);
    if (match && match[1] === name) {
      let end = offset + line.length;
      let j = i + 1;
      while (j < lines.length && /^[ \t]+[^\s#]/.test(lines[j] ?? '')) {
        end += (lines[j] ?? '').length;
        j++;
      }
      const text = mainCf.slice(offset, end);
      found = { start: offset, end, text, value: logicalValue(text) };
    }
    offset += line.length;
  }
  return found;
}

function logicalValue(text: string): string {
  const afterEquals = text.slice(text.indexOf('=') + 1);
  return afterEquals.replace(/\s*\n[ \t]+/g, ' ').trim();
}

export function parameterLine(name: string, value: string): string {
  return `${name} = ${value}\n`;
}

/** Replaces the span with `replacement` (which may be empty to remove the parameter). */
export function replaceSpan(mainCf: string, span: Pick<ParameterSpan, 'start' | 'end'>, replacement: string): string {
  return mainCf.slice(0, span.start) + replacement + mainCf.slice(span.end);
}

/** Appends a line, first ending an unterminated last line so the new one does not glue onto it. */
export function appendLine(mainCf: string, line: string): string {
  const separator = mainCf.length > 0 && !mainCf.endsWith('\n') ? '\n' : '';
  return mainCf + separator + line;
}
