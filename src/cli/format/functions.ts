/**
 * The functions a --format template can call: Go's text/template builtins and the ones docker's
 * CLI adds (templates.basicFunctions), plus docker's header variants, which leave a column's title
 * as it is (`table {{upper .Names}}` still heads its column NAMES).
 */
import { formatValue, goEqual, goJson, goLess, goQuote, goTypeOf, isMap, sprint, sprintln, truth } from './values';

/** A function's arguments arrive evaluated; a thrown Error becomes Go's `error calling NAME: ...`. */
export type TemplateFunction = (...args: unknown[]) => unknown;
export type FunctionMap = Readonly<Record<string, TemplateFunction>>;

/** A type mismatch Go reports without the "error calling" prefix. */
export class ArgumentTypeError extends Error {}

function wantString(v: unknown): string {
  if (typeof v !== 'string') throw new ArgumentTypeError(`wrong type for value; expected string; got ${goTypeOf(v)}`);
  return v;
}

function wantInt(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ArgumentTypeError(`wrong type for value; expected int; got ${goTypeOf(v)}`);
  return v;
}

function wantStrings(v: unknown): string[] {
  if (!Array.isArray(v) || !v.every((e) => typeof e === 'string'))
    throw new ArgumentTypeError(`wrong type for value; expected []string; got ${goTypeOf(v)}`);
  return v as string[];
}

function arity(name: string, args: unknown[], n: number): void {
  if (args.length !== n) throw new ArgumentTypeError(`wrong number of args for ${name}: want ${n} got ${args.length}`);
}

function index(item: unknown, ...keys: unknown[]): unknown {
  let v = item;
  for (const k of keys) {
    if (Array.isArray(v) || typeof v === 'string') {
      const i = wantInt(k);
      if (i < 0 || i >= v.length) throw new Error(`index out of range: ${i}`);
      v = typeof v === 'string' ? v.charCodeAt(i) : v[i];
    } else if (isMap(v)) {
      const key = wantString(k);
      if (Object.hasOwn(v, key)) v = v[key];
      else {
        // Go gives the map's zero value: "" for docker's map[string]string (labels, options)
        v = Object.values(v).every((e) => typeof e === 'string') ? '' : null;
      }
    } else if (v === null || v === undefined) {
      throw new Error('index of untyped nil');
    } else throw new Error(`can't index item of type ${goTypeOf(v)}`);
  }
  return v;
}

function slice(item: unknown, ...bounds: unknown[]): unknown {
  if (typeof item !== 'string' && !Array.isArray(item)) throw new Error(`can't slice item of type ${goTypeOf(item)}`);
  const [from = 0, to = item.length] = bounds.map(wantInt);
  if (from < 0 || to > item.length || from > to) throw new Error(`index out of range: ${from > to ? from : to}`);
  return item.slice(from, to);
}

function len(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return Object.keys(v).length;
  throw new Error(`len of type ${goTypeOf(v)}`);
}

/** fmt.Sprintf for the verbs people type: %s %v %d %q %t %f %e %g %x %X %o %c %%, width, precision, flags. */
export function sprintf(format: unknown, ...args: unknown[]): string {
  const f = wantString(format);
  let next = 0;
  const out = f.replace(
    /%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*))?([a-zA-Z%])/g,
    (whole, flags: string, width?: string, prec?: string, verb?: string) => {
      if (verb === '%') return '%';
      const w = width === '*' ? Number(args[next++]) : width ? Number(width) : undefined;
      const p = prec === '*' ? Number(args[next++]) : prec !== undefined ? Number(prec) : undefined;
      if (next >= args.length) return `%!${verb}(MISSING)`;
      const a = args[next++];
      let s: string;
      switch (verb) {
        case 's':
        case 'v':
          s = formatValue(a);
          if (p !== undefined && typeof a === 'string') s = s.slice(0, p);
          break;
        case 'q':
          s = typeof a === 'string' ? goQuote(a) : formatValue(a);
          break;
        case 'd':
          s = typeof a === 'number' && Number.isInteger(a) ? String(a) : `%!d(${goTypeOf(a)}=${formatValue(a)})`;
          break;
        case 't':
          s = typeof a === 'boolean' ? String(a) : `%!t(${goTypeOf(a)}=${formatValue(a)})`;
          break;
        case 'f':
        case 'F':
        case 'e':
        case 'g':
          if (typeof a !== 'number') s = `%!${verb}(${goTypeOf(a)}=${formatValue(a)})`;
          else if (verb === 'e') s = a.toExponential(p ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
          else if (verb === 'g') s = p === undefined ? formatValue(a) : String(Number(a.toPrecision(p)));
          else s = a.toFixed(p ?? 6);
          if (flags.includes('+') && typeof a === 'number' && a >= 0) s = `+${s}`;
          break;
        case 'x':
        case 'X':
        case 'o':
          s =
            typeof a === 'number'
              ? a.toString(verb === 'o' ? 8 : 16)
              : typeof a === 'string'
                ? Buffer.from(a).toString('hex')
                : `%!${verb}(${goTypeOf(a)}=${formatValue(a)})`;
          if (verb === 'X') s = s.toUpperCase();
          break;
        case 'c':
          s = typeof a === 'number' ? String.fromCodePoint(a) : `%!c(${goTypeOf(a)}=${formatValue(a)})`;
          break;
        default:
          return `%!${verb}(${goTypeOf(a)}=${formatValue(a)})`;
      }
      if (w !== undefined && s.length < w) {
        if (flags.includes('-')) s = s.padEnd(w);
        else if (flags.includes('0') && /[dfeEgxXo]/.test(verb!))
          s = s.startsWith('-') ? `-${s.slice(1).padStart(w - 1, '0')}` : s.padStart(w, '0');
        else s = s.padStart(w);
      }
      void whole;
      return s;
    },
  );
  const extra = args.slice(next);
  return extra.length ? `${out}%!(EXTRA ${extra.map((a) => `${goTypeOf(a)}=${formatValue(a)}`).join(', ')})` : out;
}

/** strings.Title: the first letter of every word upper-cased. */
const title = (s: unknown) => wantString(s).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_, sep: string, c: string) => sep + c.toUpperCase());

/** Go's builtins. `and` and `or` are evaluated lazily by the executor, these are their fallbacks. */
export const GO_FUNCTIONS: FunctionMap = {
  and: (...a) => a.find((v) => !truth(v)) ?? a[a.length - 1],
  or: (...a) => a.find((v) => truth(v)) ?? a[a.length - 1],
  not: (...a) => (arity('not', a, 1), !truth(a[0])),
  len: (...a) => (arity('len', a, 1), len(a[0])),
  index: (item, ...keys) => index(item, ...keys),
  slice: (item, ...bounds) => slice(item, ...bounds),
  print: (...a) => sprint(a),
  println: (...a) => sprintln(a),
  printf: (f, ...a) => sprintf(f, ...a),
  eq: (a, ...rest) => {
    if (rest.length === 0) throw new Error('missing argument for comparison');
    return rest.some((b) => goEqual(a, b));
  },
  ne: (...a) => (arity('ne', a, 2), !goEqual(a[0], a[1])),
  lt: (...a) => (arity('lt', a, 2), goLess(a[0], a[1])),
  le: (...a) => (arity('le', a, 2), goLess(a[0], a[1]) || goEqual(a[0], a[1])),
  gt: (...a) => (arity('gt', a, 2), !goLess(a[0], a[1]) && !goEqual(a[0], a[1])),
  ge: (...a) => (arity('ge', a, 2), !goLess(a[0], a[1])),
  html: (...a) =>
    sprint(a).replace(/[&'<>"\0]/g, (c) => ({ '&': '&amp;', "'": '&#39;', '<': '&lt;', '>': '&gt;', '"': '&#34;', '\0': '\uFFFD' })[c]!),
  js: (...a) => sprint(a).replace(/[\\'"<>&=\n\r\t]/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`),
  urlquery: (...a) => encodeURIComponent(sprint(a)).replace(/%20/g, '+'),
};

/** docker's templates.basicFunctions. */
export const DOCKER_FUNCTIONS: FunctionMap = {
  json: (...a) => (arity('json', a, 1), goJson(a[0])),
  split: (...a) => (arity('split', a, 2), splitGo(wantString(a[0]), wantString(a[1]))),
  join: (...a) => (arity('join', a, 2), wantStrings(a[0]).join(wantString(a[1]))),
  title: (...a) => (arity('title', a, 1), title(a[0])),
  lower: (...a) => (arity('lower', a, 1), wantString(a[0]).toLowerCase()),
  upper: (...a) => (arity('upper', a, 1), wantString(a[0]).toUpperCase()),
  pad: (...a) => {
    arity('pad', a, 3);
    const s = wantString(a[0]);
    return s === '' ? s : ' '.repeat(Math.max(0, wantInt(a[1]))) + s + ' '.repeat(Math.max(0, wantInt(a[2])));
  },
  truncate: (...a) => {
    arity('truncate', a, 2);
    const s = wantString(a[0]);
    const n = wantInt(a[1]);
    // docker cuts bytes: len(source) < length, else source[:length]
    const bytes = Buffer.from(s);
    return bytes.length < n ? s : bytes.subarray(0, n).toString();
  },
};

/** strings.Split: an empty separator splits into UTF-8 sequences. */
function splitGo(s: string, sep: string): string[] {
  return sep === '' ? [...s] : s.split(sep);
}

/** docker's templates.HeaderFunctions: a column title passes through unchanged. */
export const HEADER_FUNCTIONS: FunctionMap = {
  json: (v) => wantString(v),
  split: (v, s) => (wantString(s), wantString(v)),
  join: (v, s) => (wantString(s), wantString(v)),
  title: (v) => wantString(v),
  lower: (v) => wantString(v),
  upper: (v) => wantString(v),
  truncate: (v, n) => (wantInt(n), wantString(v)),
};

export const ALL_FUNCTIONS: FunctionMap = { ...GO_FUNCTIONS, ...DOCKER_FUNCTIONS };
