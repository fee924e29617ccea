/**
 * The parse tree of Go's text/template, built from lexer.ts's items, with Go's parse errors
 * (`template: :1: unexpected EOF`, `function "foo" not defined`). No {{define}}, {{template}} or
 * {{block}}: docker's --format users do not write named templates, and saying so beats running
 * half of one.
 */
import { describeItem, lex, type Item } from './lexer';

export type Operand =
  | { type: 'dot'; pos: number }
  | { type: 'nil'; pos: number }
  | { type: 'field'; pos: number; chain: string[] }
  | { type: 'variable'; pos: number; name: string; chain: string[] }
  | { type: 'identifier'; pos: number; name: string }
  | { type: 'chain'; pos: number; node: Operand; chain: string[] }
  | { type: 'pipe'; pos: number; pipe: Pipe }
  | { type: 'string'; pos: number; value: string; text: string }
  | { type: 'number'; pos: number; value: number; text: string }
  | { type: 'bool'; pos: number; value: boolean };

export interface Command {
  pos: number;
  args: Operand[];
}

export interface Pipe {
  pos: number;
  /** Variables declared (:=) or assigned (=) by the pipeline. */
  decl: string[];
  isAssign: boolean;
  cmds: Command[];
}

export type Node =
  | { type: 'text'; text: string }
  | { type: 'action'; pos: number; pipe: Pipe }
  | { type: 'if' | 'with' | 'range'; pos: number; pipe: Pipe; list: Node[]; elseList?: Node[] }
  | { type: 'break' | 'continue'; pos: number };

export class TemplateParseError extends Error {}

/** The functions a template may call: the parser refuses any other name, as Go's does. */
export type FunctionNames = ReadonlySet<string>;

export function parse(text: string, functions: FunctionNames): Node[] {
  return new Parser(lex(text), functions).parseTemplate();
}

class Parser {
  private i = 0;
  private vars: string[][] = [['$']];
  private rangeDepth = 0;

  constructor(
    private readonly items: Item[],
    private readonly functions: FunctionNames,
  ) {}

  private error(message: string, at: Item = this.items[Math.max(0, this.i - 1)]): never {
    throw new TemplateParseError(`template: :${at.line}: ${message}`);
  }

  private next(): Item {
    const item = this.items[this.i++];
    if (item.type === 'error') this.error(item.value, item);
    return item;
  }

  private peek(): Item {
    const item = this.items[this.i];
    if (item.type === 'error') {
      this.i++;
      this.error(item.value, item);
    }
    return item;
  }

  private nextNonSpace(): Item {
    let item = this.next();
    while (item.type === 'space') item = this.next();
    return item;
  }

  private peekNonSpace(): Item {
    const item = this.nextNonSpace();
    this.i--;
    return item;
  }

  private unexpected(item: Item, context: string): never {
    this.error(`unexpected ${describeItem(item)} in ${context}`, item);
  }

  parseTemplate(): Node[] {
    const [list, end] = this.itemList(true);
    if (end) this.error(`unexpected {{${end}}}`);
    return list;
  }

  /** Nodes up to {{end}} or {{else}} (which is returned), or up to EOF at the top level. */
  private itemList(topLevel = false): [Node[], 'end' | 'else' | undefined] {
    const list: Node[] = [];
    for (;;) {
      const item = this.peek();
      if (item.type === 'eof') {
        if (!topLevel) this.error('unexpected EOF', item);
        return [list, undefined];
      }
      if (item.type === 'text') {
        this.i++;
        list.push({ type: 'text', text: item.value });
        continue;
      }
      this.next(); // leftDelim
      const word = this.peekNonSpace();
      if (word.type === 'keyword' && (word.value === 'end' || word.value === 'else')) {
        this.nextNonSpace();
        if (word.value === 'end') this.expectRight('end');
        return [list, word.value];
      }
      list.push(this.action());
    }
  }

  private expectRight(context: string): void {
    const item = this.nextNonSpace();
    if (item.type !== 'rightDelim') this.unexpected(item, context);
  }

  private action(): Node {
    const item = this.nextNonSpace();
    if (item.type === 'keyword') {
      switch (item.value) {
        case 'if':
        case 'with':
        case 'range':
          return this.control(item.value, item.pos);
        case 'break':
        case 'continue':
          if (this.rangeDepth === 0) this.error(`{{${item.value}}} outside {{range}}`);
          this.expectRight(item.value);
          return { type: item.value, pos: item.pos };
        case 'define':
        case 'template':
        case 'block':
          this.error(`{{${item.value}}} is not supported by berth's --format: write the template inline`);
      }
    }
    this.i--;
    return { type: 'action', pos: item.pos, pipe: this.pipeline('command', 'rightDelim') };
  }

  private control(kind: 'if' | 'with' | 'range', pos: number): Node {
    this.vars.push([]);
    const pipe = this.pipeline(kind, 'rightDelim');
    if (pipe.cmds.length === 0) this.error(`missing value for ${kind}`);
    if (kind === 'range') this.rangeDepth++;
    let [list, end] = this.itemList();
    if (kind === 'range') this.rangeDepth--;
    let elseList: Node[] | undefined;
    if (end === 'else') {
      // {{else if ...}} and {{else with ...}} nest a control of the same kind in the else branch
      const chained = this.peekNonSpace();
      if (kind !== 'range' && chained.type === 'keyword' && chained.value === kind) {
        this.nextNonSpace();
        elseList = [this.control(kind, chained.pos)];
      } else {
        this.expectRight('else');
        [elseList, end] = this.itemList();
        if (end === 'else') this.error('expected end; found {{else}}');
      }
    }
    this.vars.pop();
    list = list ?? [];
    return { type: kind, pos, pipe, list, elseList };
  }

  private pipeline(context: string, end: 'rightDelim' | 'rightParen'): Pipe {
    const pos = this.peekNonSpace().pos;
    const decl: string[] = [];
    let isAssign = false;
    // $x :=, $x =, $i, $e := (range only)
    const save = this.i;
    const first = this.nextNonSpace();
    if (first.type === 'variable') {
      const after = this.nextNonSpace();
      if (after.type === 'declare' || after.type === 'assign') {
        isAssign = after.type === 'assign';
        decl.push(first.value);
        if (!isAssign) this.vars[this.vars.length - 1].push(first.value);
      } else if (after.type === 'char' && after.value === ',' && context === 'range') {
        const second = this.nextNonSpace();
        const op = this.nextNonSpace();
        if (second.type !== 'variable' || op.type !== 'declare') this.error(`range can only initialize variables`);
        decl.push(first.value, second.value);
        this.vars[this.vars.length - 1].push(first.value, second.value);
      } else if (after.type === 'char' && after.value === ',') {
        this.error(`too many declarations in ${context}`);
      } else this.i = save;
    } else this.i = save;
    if (isAssign && !this.known(decl[0])) this.error(`undefined variable "${decl[0]}"`);
    const cmds: Command[] = [];
    for (;;) {
      const item = this.peekNonSpace();
      if (item.type === end) {
        this.nextNonSpace();
        if (cmds.length === 0 && (context === 'command' || decl.length > 0)) this.error(`missing value for ${context}`);
        cmds.forEach((c, n) => {
          const lead = c.args[0];
          if (n > 0 && ['bool', 'dot', 'nil', 'number', 'string'].includes(lead.type))
            this.error(`non executable command in pipeline stage ${n + 1}`);
        });
        return { pos, decl, isAssign, cmds };
      }
      if (item.type === 'eof' || item.type === 'rightDelim' || item.type === 'rightParen') this.unexpected(this.nextNonSpace(), context);
      cmds.push(this.command());
    }
  }

  private command(): Command {
    const pos = this.peekNonSpace().pos;
    const args: Operand[] = [];
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) args.push(operand);
      const item = this.next();
      if (item.type === 'space') continue;
      if (item.type === 'rightDelim' || item.type === 'rightParen') {
        this.i--;
        break;
      }
      if (item.type === 'pipe') break;
      this.unexpected(item, 'operand');
    }
    if (args.length === 0) this.error('empty command');
    return { pos, args };
  }

  /** One operand with any field chain after it; undefined at a token that starts none. */
  private operand(): Operand | undefined {
    const term = this.term();
    if (!term) return undefined;
    if (this.peek().type !== 'field') return term;
    const chain: string[] = [];
    while (this.peek().type === 'field') chain.push(this.next().value.slice(1));
    switch (term.type) {
      case 'field':
        return { ...term, chain: [...term.chain, ...chain] };
      case 'variable':
        return { ...term, chain: [...term.chain, ...chain] };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        this.error(`unexpected . after term ${JSON.stringify(termText(term))}`);
      // falls through: error() never returns
      default:
        return { type: 'chain', pos: term.pos, node: term, chain };
    }
  }

  private term(): Operand | undefined {
    const item = this.nextNonSpace();
    switch (item.type) {
      case 'identifier':
        if (!this.functions.has(item.value)) this.error(`function ${JSON.stringify(item.value)} not defined`);
        return { type: 'identifier', pos: item.pos, name: item.value };
      case 'dot':
        return { type: 'dot', pos: item.pos };
      case 'nil':
        return { type: 'nil', pos: item.pos };
      case 'variable':
        if (!this.known(item.value)) this.error(`undefined variable "${item.value}"`);
        return { type: 'variable', pos: item.pos, name: item.value, chain: [] };
      case 'field':
        return { type: 'field', pos: item.pos, chain: [item.value.slice(1)] };
      case 'bool':
        return { type: 'bool', pos: item.pos, value: item.value === 'true' };
      case 'charConstant':
      case 'number': {
        const value = item.type === 'number' ? parseNumber(item.value) : unquoteChar(item.value).codePointAt(0)!;
        if (Number.isNaN(value)) this.error(`bad number syntax: ${JSON.stringify(item.value)}`);
        return { type: 'number', pos: item.pos, value, text: item.value };
      }
      case 'string':
      case 'rawString':
        return {
          type: 'string',
          pos: item.pos,
          value: item.type === 'rawString' ? item.value.slice(1, -1) : unquote(item.value),
          text: item.value,
        };
      case 'leftParen':
        return { type: 'pipe', pos: item.pos, pipe: this.pipeline('parenthesized pipeline', 'rightParen') };
    }
    this.i--;
    return undefined;
  }

  private known(name: string): boolean {
    return this.vars.some((scope) => scope.includes(name));
  }
}

function termText(o: Operand): string {
  return o.type === 'string' || o.type === 'number' ? o.text : o.type === 'bool' ? String(o.value) : o.type === 'nil' ? 'nil' : '.';
}

function parseNumber(text: string): number {
  const t = text.replace(/_/g, '');
  const sign = t.startsWith('-') ? -1 : 1;
  const body = t.replace(/^[+-]/, '');
  if (/^0[xX]/.test(body)) return sign * parseInt(body.slice(2), 16);
  if (/^0[bB]/.test(body)) return sign * parseInt(body.slice(2), 2);
  if (/^0[oO]/.test(body)) return sign * parseInt(body.slice(2), 8);
  if (/^0[0-7]+$/.test(body)) return sign * parseInt(body, 8);
  return body === '' || body === '.' ? NaN : sign * Number(body);
}

/** Go's interpreted string literal: JSON's escapes plus \a \v \x.. \NNN and \U........ */
function unquote(quoted: string): string {
  return quoted.slice(1, -1).replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_, e: string) => {
    const simple: Record<string, string> = {
      a: '\x07',
      b: '\b',
      f: '\f',
      n: '\n',
      r: '\r',
      t: '\t',
      v: '\v',
      '\\': '\\',
      '"': '"',
      "'": "'",
    };
    if (e in simple) return simple[e];
    if (/^[xuU]/.test(e)) return String.fromCodePoint(parseInt(e.slice(1), 16));
    if (/^[0-7]{3}$/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return `\\${e}`;
  });
}

function unquoteChar(quoted: string): string {
  return unquote(`"${quoted.slice(1, -1)}"`);
}
