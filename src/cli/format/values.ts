/**
 * How Go's text/template sees JavaScript values: which are true, how fmt prints them, how eq and lt
 * compare them. Objects play two parts, as in Go: plain objects are maps (printed `map[k:v]`,
 * ranged in key order), and instances of a FormatContext are docker's formatter structs, whose
 * methods are the fields a template names.
 */

/** A docker formatter context (ContainerContext, ImageContext, ...): its methods are its fields. */
export abstract class FormatContext {
  /** The Go type docker's messages name: `*formatter.ContainerContext`. */
  abstract readonly goType: string;
  /** The fields as `{{json .}}` prints them (docker marshals every method that takes no argument). */
  abstract toJSON(): Record<string, unknown>;
}

export const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof FormatContext) && !Buffer.isBuffer(v);

/** Go's truth: false, 0, nil and empty strings, slices and maps are false; a struct is true. */
export function truth(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string' || Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return true;
}

/** The Go type name a message shows for a value. */
export function goTypeOf(v: unknown): string {
  if (v === undefined || v === null) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (Array.isArray(v)) return '[]interface {}';
  if (v instanceof FormatContext) return v.goType;
  return 'map[string]interface {}';
}

/** A float as Go's %v prints it: the shortest representation, an exponent from 1e21 on. */
function formatNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  const s = String(n);
  // Go writes e+21 as e+21 and e-7 as e-07
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** fmt's %v of a value; undefined is what Go prints for a missing map entry. */
export function formatValue(v: unknown, top = true): string {
  if (v === undefined) return top ? '<no value>' : '<nil>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map((e) => formatValue(e, false)).join(' ')}]`;
  if (v instanceof FormatContext)
    return `&{${Object.values(v.toJSON())
      .map((e) => formatValue(e, false))
      .join(' ')}}`;
  if (typeof v === 'object') {
    const m = v as Record<string, unknown>;
    return `map[${Object.keys(m)
      .sort()
      .map((k) => `${k}:${formatValue(m[k], false)}`)
      .join(' ')}]`;
  }
  return String(v);
}

/** fmt.Sprint: operands side by side, a space between two only when neither is a string. */
export function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}

/** fmt.Sprintln: spaces between all operands and a newline. */
export function sprintln(args: unknown[]): string {
  return `${args.map((a) => formatValue(a)).join(' ')}\n`;
}

/** encoding/json as docker's json function uses it: no HTML escaping, contexts through toJSON. */
export function goJson(v: unknown): string {
  if (v === undefined) return 'null';
  return JSON.stringify(v, (_key, value: unknown) => (value === undefined ? null : value)) ?? 'null';
}

/** strconv.Quote: Go's escapes, printable Unicode kept. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const named: Record<string, string> = {
      '\x07': '\\a',
      '\b': '\\b',
      '\f': '\\f',
      '\n': '\\n',
      '\r': '\\r',
      '\t': '\\t',
      '\v': '\\v',
      '"': '\\"',
      '\\': '\\\\',
    };
    if (named[ch]) out += named[ch];
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}]/u.test(ch) && c !== 0x20)
      out += c > 0xffff ? `\\U${c.toString(16).padStart(8, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

type Kind = 'bool' | 'number' | 'string' | 'nil' | 'other';
const kindOf = (v: unknown): Kind =>
  v === undefined || v === null
    ? 'nil'
    : typeof v === 'boolean'
      ? 'bool'
      : typeof v === 'number'
        ? 'number'
        : typeof v === 'string'
          ? 'string'
          : 'other';

/** Go's eq for two operands: basic kinds only, and of one kind. */
export function goEqual(a: unknown, b: unknown): boolean {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka === 'other' || kb === 'other') {
    if (ka === 'nil' || kb === 'nil') return false;
    throw new Error('invalid type for comparison');
  }
  if (ka !== kb) {
    if (ka === 'nil' || kb === 'nil') return false;
    throw new Error('incompatible types for comparison');
  }
  return a === b || (ka === 'nil' && kb === 'nil');
}

/** Go's lt: numbers with numbers, strings with strings. */
export function goLess(a: unknown, b: unknown): boolean {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if ((ka !== 'number' && ka !== 'string') || (kb !== 'number' && kb !== 'string')) throw new Error('invalid type for comparison');
  if (ka !== kb) throw new Error('incompatible types for comparison');
  return (a as number | string) < (b as number | string);
}

/** docker's SubHeaderContext: the column titles by field, which also answers `.Label "k"` with the
 *  label's last dot-separated part (com.example.app-tier heads its column "app tier"). */
export class HeaderContext extends FormatContext {
  readonly goType = 'formatter.SubHeaderContext';
  constructor(readonly titles: Readonly<Record<string, string>>) {
    super();
  }
  Label(name: string): string {
    return (name.split('.').pop() ?? '').replace(/[-_]/g, ' ');
  }
  toJSON(): Record<string, unknown> {
    return { ...this.titles };
  }
}
