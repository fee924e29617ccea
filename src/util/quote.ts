/**
 * How user values appear in error messages. Every value a user gave is shown JSON-quoted, so a
 * newline, a NUL or a terminal escape in it prints as \n, \u0000 or \u001b: one error is always one
 * line, and nothing of a value can move the cursor or forge a second line of output.
 */

/** Longer values are cut: an error names the value, it does not reproduce a 1 MB argument. */
const MAX_SHOWN = 200;

/** JSON.stringify leaves DEL, the C1 controls (\u009b is a CSI to many terminals) and the Unicode
 *  line separators raw; they are escaped as well. */
const UNSAFE = /[\u007f-\u009f\u2028\u2029]/g;
const escapeUnsafe = (s: string) => s.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** A string as "…", JSON-escaped; anything else as its JSON (or String() when it has none). */
export function quote(value: unknown): string {
  if (typeof value === 'string') {
    const cut = value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value;
    return escapeUnsafe(JSON.stringify(cut));
  }
  return escapeUnsafe(json(value));
}

function json(value: unknown): string {
  if (
    typeof value === 'number' ||
    typeof value === 'bigint' ||
    typeof value === 'symbol' ||
    typeof value === 'function' ||
    value === undefined
  ) {
    return typeof value === 'bigint' ? `${value}n` : String(value);
  }
  let s: string | undefined;
  try {
    s = JSON.stringify(value);
  } catch {
    s = undefined; // circular, or a throwing toJSON
  }
  s ??= String(value);
  return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN)}…` : s;
}

/** What a value is, for "but received …": `a string "true"`, `a number NaN`, `an object {"uid":0}`, `null`. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `an array ${quote(value)}`;
  switch (typeof value) {
    case 'string':
      return `a string ${quote(value)}`;
    case 'number':
      return `a number ${quote(value)}`;
    case 'boolean':
      return `a boolean ${value}`;
    case 'bigint':
      return `a bigint ${quote(value)}`;
    case 'symbol':
      return `a symbol ${quote(value)}`;
    case 'function':
      return 'a function';
    default: {
      const ctor = (value as object).constructor?.name;
      return ctor && ctor !== 'Object' ? `a ${ctor} ${quote(value)}` : `an object ${quote(value)}`;
    }
  }
}

/** A message made safe for one line of a terminal: control characters escaped as JSON would.
 *  The CLI's last line of defence for messages built from values no one quoted. */
export function oneLine(message: string): string {
  // eslint-disable-next-line no-control-regex
  return escapeUnsafe(message.replace(/[\u0000-\u001f]/g, (c) => JSON.stringify(c).slice(1, -1)));
}
