/**
 * The lexer of Go's text/template, for the subset berth's --format speaks. Items carry the
 * offset and line Go's error messages name, so that a mistake in a template is reported as
 * `template: :1: unexpected "}" in operand`, exactly as docker's CLI reports it.
 */

export type ItemType =
  | 'text'
  | 'leftDelim'
  | 'rightDelim'
  | 'space'
  | 'field'
  | 'variable'
  | 'identifier'
  | 'keyword'
  | 'string'
  | 'rawString'
  | 'char'
  | 'charConstant'
  | 'number'
  | 'bool'
  | 'nil'
  | 'dot'
  | 'pipe'
  | 'leftParen'
  | 'rightParen'
  | 'declare'
  | 'assign'
  | 'comment'
  | 'error'
  | 'eof';

export interface Item {
  type: ItemType;
  value: string;
  /** Byte offset in the template (UTF-16 offset here; the same for the ASCII users type). */
  pos: number;
  line: number;
}

export const KEYWORDS = new Set(['block', 'break', 'continue', 'define', 'else', 'end', 'if', 'range', 'nil', 'template', 'with']);

/** How an item reads in a message: Go quotes most items, and names EOF and keywords in braces. */
export function describeItem(i: Item): string {
  if (i.type === 'eof') return 'EOF';
  if (i.type === 'error') return i.value;
  if (i.type === 'keyword') return `<${i.value}>`;
  if (i.type === 'space') return JSON.stringify(i.value);
  if (i.value.length > 10) return `${JSON.stringify(i.value.slice(0, 10))}...`;
  return JSON.stringify(i.value);
}

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string) => /^[\p{L}\p{Nd}_]$/u.test(c);

/** The whole template as items; the last is eof or an error. */
export function lex(input: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  let start = 0;
  let line = 1;
  let startLine = 1;
  let parenDepth = 0;

  const emit = (type: ItemType, value = input.slice(start, pos)) => {
    items.push({ type, value, pos: start, line: startLine });
    start = pos;
    startLine = line;
  };
  const advance = (n: number) => {
    for (let k = 0; k < n; k++) if (input[pos + k] === '\n') line++;
    pos += n;
  };
  const fail = (message: string) => {
    items.push({ type: 'error', value: message, pos: start, line: startLine });
  };
  // "{{- " trims the text before it, " -}}" the text after it: the dash needs a space beside it
  const leftTrim = (at: number) => input[at + 2] === '-' && isSpace(input[at + 3] ?? '');
  const rightTrimAt = (at: number) => input[at] === ' ' && input[at + 1] === '-' && input.startsWith('}}', at + 2);

  for (;;) {
    // text up to the next action
    const next = input.indexOf('{{', pos);
    const end = next < 0 ? input.length : next;
    let textEnd = end;
    if (next >= 0 && leftTrim(next)) while (textEnd > start && isSpace(input[textEnd - 1])) textEnd--;
    if (textEnd > start) {
      pos = textEnd;
      const text = input.slice(start, textEnd);
      line += text.split('\n').length - 1;
      items.push({ type: 'text', value: text, pos: start, line: startLine });
    }
    pos = end;
    start = pos;
    startLine = line;
    if (next < 0) {
      emit('eof', '');
      return items;
    }
    // the left delimiter, with its trim marker
    advance(leftTrim(pos) ? 4 : 2);
    if (input.startsWith('/*', pos)) {
      const close = input.indexOf('*/', pos + 2);
      if (close < 0) return (fail('unclosed comment'), items);
      advance(close + 2 - pos);
      const trimmed = rightTrimAt(pos);
      if (!trimmed && !input.startsWith('}}', pos)) return (fail('comment ends before closing delimiter'), items);
      advance(trimmed ? 4 : 2);
      if (trimmed) while (pos < input.length && isSpace(input[pos])) advance(1);
      start = pos;
      startLine = line;
      continue;
    }
    emit('leftDelim');
    // inside the action
    for (;;) {
      if (rightTrimAt(pos) || input.startsWith('}}', pos)) {
        if (parenDepth > 0) return (fail('unclosed left paren'), items);
        const trimmed = rightTrimAt(pos);
        if (trimmed) {
          advance(1);
          start = pos;
          startLine = line;
        }
        advance(trimmed ? 3 : 2);
        emit('rightDelim');
        if (trimmed) {
          while (pos < input.length && isSpace(input[pos])) advance(1);
          start = pos;
          startLine = line;
        }
        break;
      }
      if (pos >= input.length) return (fail('unclosed action'), items);
      const c = input[pos];
      if (isSpace(c)) {
        while (pos < input.length && isSpace(input[pos]) && !rightTrimAt(pos)) advance(1);
        emit('space');
      } else if (c === '=') {
        advance(1);
        emit('assign');
      } else if (c === ':') {
        if (input[pos + 1] !== '=') return (fail('expected :='), items);
        advance(2);
        emit('declare');
      } else if (c === '|') {
        advance(1);
        emit('pipe');
      } else if (c === '"' || c === '`' || c === "'") {
        const closeAt = scanQuoted(input, pos);
        if (closeAt < 0) {
          const what =
            c === '"' ? 'unterminated quoted string' : c === '`' ? 'unterminated raw quoted string' : 'unterminated character constant';
          return (fail(what), items);
        }
        advance(closeAt + 1 - pos);
        emit(c === '"' ? 'string' : c === '`' ? 'rawString' : 'charConstant');
      } else if (c === '$') {
        advance(1);
        while (pos < input.length && isAlnum(input[pos])) advance(1);
        emit('variable');
      } else if (c === '.' && !/[0-9]/.test(input[pos + 1] ?? '')) {
        advance(1);
        if (!isAlnum(input[pos] ?? '')) {
          emit('dot');
          continue;
        }
        while (pos < input.length && isAlnum(input[pos])) advance(1);
        emit('field');
      } else if (/[0-9+\-.]/.test(c)) {
        const m = /^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|[0-9_]*\.?[0-9_]*([eE][+-]?[0-9_]+)?)/.exec(input.slice(pos))!;
        const after = input[pos + m[0].length] ?? '';
        if (m[0] === '' || m[0] === '+' || m[0] === '-' || isAlnum(after) || after === '.') {
          let bad = m[0].length;
          while (pos + bad < input.length && (isAlnum(input[pos + bad]) || input[pos + bad] === '.')) bad++;
          return (fail(`bad number syntax: ${JSON.stringify(input.slice(pos, pos + Math.max(bad, 1)))}`), items);
        }
        advance(m[0].length);
        emit('number');
      } else if (isAlnum(c)) {
        while (pos < input.length && isAlnum(input[pos])) advance(1);
        const word = input.slice(start, pos);
        emit(KEYWORDS.has(word) ? (word === 'nil' ? 'nil' : 'keyword') : word === 'true' || word === 'false' ? 'bool' : 'identifier');
      } else if (c === '(') {
        parenDepth++;
        advance(1);
        emit('leftParen');
      } else if (c === ')') {
        parenDepth--;
        if (parenDepth < 0) return (fail('unexpected right paren'), items);
        advance(1);
        emit('rightParen');
      } else if (c === '}') {
        // Go (1.22 on) refuses a lone "}" in an action outright, before the parser sees it
        return (fail("bad character U+007D '}'"), items);
      } else if (c.charCodeAt(0) < 0x7f && c.charCodeAt(0) >= 0x20) {
        advance(1);
        emit('char');
      } else {
        const code = c.codePointAt(0)!;
        return (fail(`unrecognized character in action: U+${code.toString(16).toUpperCase().padStart(4, '0')}`), items);
      }
    }
  }
}

/** The index of the closing quote of the quoted item at `at`, -1 when it is unterminated. */
function scanQuoted(input: string, at: number): number {
  const q = input[at];
  for (let i = at + 1; i < input.length; i++) {
    const c = input[i];
    if (q !== '`' && c === '\\') i++;
    else if (q !== '`' && c === '\n') return -1;
    else if (c === q) return i;
  }
  return -1;
}
