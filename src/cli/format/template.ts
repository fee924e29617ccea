/**
 * A Go text/template engine, the subset docker's --format users write: fields and map keys
 * ({{.State.Pid}}), methods with arguments ({{.Label "k"}}), pipelines, variables, if/else if/with/
 * range (with $k, $v, break, continue), Go's builtins and docker's functions (functions.ts), and
 * Go's messages for mistakes: parse errors as `template: :1: ...`, execution errors as
 * `template: :1:2: executing "" at <.Foo>: can't evaluate field Foo in type ...`. Pure: no I/O.
 */
import { ALL_FUNCTIONS, ArgumentTypeError, type FunctionMap } from './functions';
import { parse, TemplateParseError, type Command, type Node, type Operand, type Pipe } from './parser';
import { FormatContext, formatValue, goTypeOf, HeaderContext, isMap, truth } from './values';

export { TemplateParseError } from './parser';

export class TemplateExecError extends Error {
  /** What the template wrote before it failed: docker keeps a header's partial output. */
  constructor(
    message: string,
    readonly partial: string,
  ) {
    super(message);
  }
}

type ControlNode = { pos: number; pipe: Pipe; list: Node[]; elseList?: Node[] };

class Break {}
class Continue {}

interface Variable {
  name: string;
  value: unknown;
}

export class Template {
  private constructor(
    readonly text: string,
    private readonly tree: Node[],
  ) {}

  /** Parses with Go's and docker's functions; throws TemplateParseError with Go's message. */
  static parse(text: string, functions: FunctionMap = ALL_FUNCTIONS): Template {
    return new Template(text, parse(text, new Set(Object.keys(functions))));
  }

  /** Runs the template on `data`; `functions` may replace some (docker's header functions). */
  execute(data: unknown, functions: FunctionMap = {}): string {
    const state = new ExecState(this.text, { ...ALL_FUNCTIONS, ...functions }, data);
    try {
      state.walkList(data, this.tree);
    } catch (e) {
      if (e instanceof TemplateExecError) throw new TemplateExecError(e.message, state.out.join(''));
      throw e;
    }
    return state.out.join('');
  }
}

class ExecState {
  readonly out: string[] = [];
  private vars: Variable[];

  constructor(
    private readonly text: string,
    private readonly functions: FunctionMap,
    root: unknown,
  ) {
    this.vars = [{ name: '$', value: root }];
  }

  private fail(pos: number, context: string, message: string): never {
    const before = this.text.slice(0, pos);
    const line = before.split('\n').length;
    const nl = before.lastIndexOf('\n');
    const col = nl < 0 ? pos : pos - nl - 1;
    throw new TemplateExecError(`template: :${line}:${col}: executing "" at <${context}>: ${message}`, '');
  }

  walkList(dot: unknown, list: Node[]): void {
    for (const node of list) this.walk(dot, node);
  }

  private walk(dot: unknown, node: Node): void {
    switch (node.type) {
      case 'text':
        this.out.push(node.text);
        return;
      case 'action': {
        const v = this.evalPipe(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.out.push(this.printable(v, node.pipe));
        return;
      }
      case 'if':
      case 'with': {
        const mark = this.vars.length;
        const v = this.evalPipe(dot, node.pipe);
        if (truth(v)) this.walkList(node.type === 'with' ? v : dot, node.list);
        else if (node.elseList) this.walkList(dot, node.elseList);
        this.vars.length = mark;
        return;
      }
      case 'range':
        return this.walkRange(dot, node);
      case 'break':
        throw new Break();
      case 'continue':
        throw new Continue();
    }
  }

  private printable(v: unknown, pipe: Pipe): string {
    if (typeof v === 'function') this.fail(pipe.pos, pipeString(pipe), "can't print a function");
    return formatValue(v);
  }

  private walkRange(dot: unknown, node: ControlNode): void {
    const mark = this.vars.length;
    const v = this.evalPipe(dot, node.pipe);
    this.vars.length = mark;
    let entries: Array<[unknown, unknown]>;
    if (Array.isArray(v)) entries = v.map((e, i) => [i, e]);
    else if (isMap(v))
      entries = Object.keys(v)
        .sort()
        .map((k) => [k, v[k]]);
    else if (typeof v === 'number' && Number.isInteger(v)) entries = Array.from({ length: Math.max(0, v) }, (_, i) => [i, i]);
    else if (v === undefined || v === null) entries = [];
    else this.fail(node.pos, pipeString(node.pipe), `range can't iterate over ${formatValue(v)}`);
    for (const [key, elem] of entries) {
      const [first, second] = node.pipe.decl;
      if (second !== undefined) this.vars.push({ name: first, value: key }, { name: second, value: elem });
      else if (first !== undefined) this.vars.push({ name: first, value: elem });
      try {
        this.walkList(elem, node.list);
      } catch (e) {
        if (e instanceof Break) {
          this.vars.length = mark;
          break;
        }
        if (!(e instanceof Continue)) throw e;
      }
      this.vars.length = mark;
    }
    if (entries.length === 0 && node.elseList) this.walkList(dot, node.elseList);
  }

  private evalPipe(dot: unknown, pipe: Pipe): unknown {
    let value: unknown;
    let piped = false;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, piped, value);
      piped = true;
    }
    for (const name of pipe.decl.slice(0, 1)) {
      if (pipe.isAssign) {
        const v = [...this.vars].reverse().find((x) => x.name === name)!;
        v.value = value;
      } else this.vars.push({ name, value });
    }
    return value;
  }

  private evalCommand(dot: unknown, cmd: Command, piped: boolean, final: unknown): unknown {
    const [first, ...rest] = cmd.args;
    const context = commandString(cmd);
    const args = () => [...rest.map((a) => this.evalArg(dot, a)), ...(piped ? [final] : [])];
    switch (first.type) {
      case 'identifier':
        return this.call(first.name, cmd, rest, dot, piped, final);
      case 'field':
        return this.evalChain(dot, dot, first.chain, first.pos, fieldString(first), args(), rest.length > 0 || piped);
      case 'variable': {
        const base = this.lookupVar(first.name);
        if (first.chain.length === 0) break;
        return this.evalChain(dot, base, first.chain, first.pos, operandString(first), args(), rest.length > 0 || piped);
      }
      case 'chain': {
        const base = this.evalArg(dot, first.node);
        return this.evalChain(dot, base, first.chain, first.pos, operandString(first), args(), rest.length > 0 || piped);
      }
    }
    if (rest.length > 0 || piped) this.fail(first.pos, context, `can't give argument to non-function ${operandString(first)}`);
    return this.evalArg(dot, first);
  }

  private call(name: string, cmd: Command, rest: Operand[], dot: unknown, piped: boolean, final: unknown): unknown {
    const context = commandString(cmd);
    // Go 1.18+: and/or stop at the first operand that decides
    if (name === 'and' || name === 'or') {
      const operands: Array<() => unknown> = [...rest.map((a) => () => this.evalArg(dot, a)), ...(piped ? [() => final] : [])];
      if (operands.length === 0) this.fail(cmd.pos, context, `wrong number of args for ${name}: want at least 1 got 0`);
      let v: unknown;
      for (const get of operands) {
        v = get();
        if (truth(v) === (name === 'or')) return v;
      }
      return v;
    }
    const fn = this.functions[name];
    const args = [...rest.map((a) => this.evalArg(dot, a)), ...(piped ? [final] : [])];
    try {
      return fn(...args);
    } catch (e) {
      if (e instanceof TemplateExecError) throw e;
      const message = (e as Error).message;
      this.fail(cmd.pos, context, e instanceof ArgumentTypeError ? message : `error calling ${name}: ${message}`);
    }
  }

  private evalArg(dot: unknown, a: Operand): unknown {
    switch (a.type) {
      case 'dot':
        return dot;
      case 'nil':
        return null;
      case 'string':
      case 'number':
      case 'bool':
        return a.value;
      case 'field':
        return this.evalChain(dot, dot, a.chain, a.pos, fieldString(a), [], false);
      case 'variable':
        return this.evalChain(dot, this.lookupVar(a.name), a.chain, a.pos, operandString(a), [], false);
      case 'chain':
        return this.evalChain(dot, this.evalArg(dot, a.node), a.chain, a.pos, operandString(a), [], false);
      case 'pipe': {
        const mark = this.vars.length;
        const v = this.evalPipe(dot, a.pipe);
        this.vars.length = mark;
        return v;
      }
      case 'identifier':
        return this.call(a.name, { pos: a.pos, args: [a] }, [], dot, false, undefined);
    }
  }

  private lookupVar(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i].value;
    return undefined; // the parser refuses undeclared variables
  }

  /** `.A.B.C`: every name but the last takes no arguments; the last gets `args` if it is a method. */
  private evalChain(
    _dot: unknown,
    base: unknown,
    chain: string[],
    pos: number,
    context: string,
    args: unknown[],
    hasArgs: boolean,
  ): unknown {
    let v = base;
    chain.forEach((name, i) => {
      const last = i === chain.length - 1;
      v = this.field(v, name, last ? args : [], last && hasArgs, pos, context);
    });
    return v;
  }

  private field(receiver: unknown, name: string, args: unknown[], hasArgs: boolean, pos: number, context: string): unknown {
    // a header is a map of titles in docker (a missing one prints "<no value>"), with one method
    if (receiver instanceof HeaderContext && name !== 'Label' && !hasArgs) return receiver.titles[name];
    if (receiver instanceof FormatContext) {
      const method = (receiver as unknown as Record<string, unknown>)[name];
      if (typeof method !== 'function' || !/^\p{Lu}/u.test(name))
        this.fail(pos, context, `can't evaluate field ${name} in type ${receiver.goType}`);
      const fn = method as (...a: unknown[]) => unknown;
      if (fn.length !== args.length) this.fail(pos, context, `wrong number of args for ${name}: want ${fn.length} got ${args.length}`);
      for (const a of args) if (typeof a !== 'string') this.fail(pos, context, `wrong type for value; expected string; got ${goTypeOf(a)}`);
      return fn.apply(receiver, args);
    }
    if (isMap(receiver)) {
      if (hasArgs) this.fail(pos, context, `${name} is not a method but has arguments`);
      return Object.hasOwn(receiver, name) ? receiver[name] : undefined;
    }
    if (receiver === undefined || receiver === null) this.fail(pos, context, `nil pointer evaluating interface {}.${name}`);
    this.fail(pos, context, `can't evaluate field ${name} in type ${goTypeOf(receiver)}`);
  }
}

function fieldString(o: { chain: string[] }): string {
  return o.chain.map((c) => `.${c}`).join('');
}

function operandString(o: Operand): string {
  switch (o.type) {
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'field':
      return fieldString(o);
    case 'variable':
      return o.name + fieldString(o);
    case 'identifier':
      return o.name;
    case 'chain':
      return operandString(o.node) + fieldString(o);
    case 'pipe':
      return `(${pipeString(o.pipe)})`;
    case 'string':
    case 'number':
      return o.text;
    case 'bool':
      return String(o.value);
  }
}

function commandString(c: Command): string {
  return c.args.map(operandString).join(' ');
}

function pipeString(p: Pipe): string {
  const decl = p.decl.length ? `${p.decl.join(', ')} ${p.isAssign ? '=' : ':='} ` : '';
  return decl + p.cmds.map(commandString).join(' | ');
}

/** Parses, turning a parse error into the same error class the caller handles. */
export function parseTemplate(text: string): Template {
  return Template.parse(text);
}

export function isTemplateError(e: unknown): e is TemplateParseError | TemplateExecError {
  return e instanceof TemplateParseError || e instanceof TemplateExecError;
}
