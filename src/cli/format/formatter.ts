/**
 * docker's --format for lists and inspect: `table ...` (a header from the column titles, then the
 * rows aligned as docker's tabwriter aligns them), `json` (one object per line, as docker 24+), or a
 * template run once per item. A mistake in a template is a BerthError (exit 125) with docker's
 * text and, after it, what to change.
 */
import { BerthError } from '../../errors';
import { HEADER_FUNCTIONS } from './functions';
import { tabwrite } from './tabwriter';
import { Template, TemplateExecError, TemplateParseError } from './template';
import { goJson, HeaderContext } from './values';

export interface ListFormat {
  /** What --format said: "table", "json", "table {{.ID}}\t{{.Names}}" or a template. */
  format: string;
  /** Column titles by field, for the header of a table. */
  header: Readonly<Record<string, string>>;
  /** The template "table" alone stands for: the command's default columns. */
  defaultTable: string;
  /** The command, for hints: "ps", "images". */
  command: string;
}

/** What a template error should say after docker's text: the fix. */
function hint(message: string, fields: string[], command: string): string {
  if (/U\+007D|unclosed action/.test(message)) return 'close every action with "}}"';
  if (/unexpected EOF/.test(message)) return 'close every {{if}}, {{range}} and {{with}} with {{end}}';
  if (/function ".*" not defined/.test(message))
    return 'the functions are json, join, split, lower, upper, title, truncate, pad, printf, println, print, index, len, slice, eq, ne, lt, le, gt, ge, and, or, not';
  if (/can't evaluate field/.test(message) && fields.length > 0) return `the fields of berth ${command} are ${fields.join(', ')}`;
  if (/unexpected|missing|bad number|unterminated/.test(message)) return 'see https://pkg.go.dev/text/template for the syntax';
  return '';
}

/** docker's (28) words before Go's message: "failed to parse template" or "failed to execute template". */
export function templateError(e: TemplateParseError | TemplateExecError, fields: string[], command: string): BerthError {
  const fix = hint(e.message, fields, command);
  const what = e instanceof TemplateParseError ? 'failed to parse template' : 'failed to execute template';
  return new BerthError('INVALID_ARGUMENT', `${what}: ${e.message}${fix ? `; ${fix}` : ''}`);
}

export function parseFormat(text: string, fields: string[], command: string): Template {
  try {
    return Template.parse(text);
  } catch (e) {
    if (e instanceof TemplateParseError) throw templateError(e, fields, command);
    throw e;
  }
}

/** Runs a parsed template on one item. */
export function executeFormat(t: Template, data: unknown, fields: string[], command: string): string {
  try {
    return t.execute(data);
  } catch (e) {
    if (e instanceof TemplateExecError) throw templateError(e, fields, command);
    throw e;
  }
}

/** The whole output of a list command for these items (each a formatter context). */
export function formatList(spec: ListFormat, items: unknown[]): string {
  let text = spec.format;
  const isTable = text.startsWith('table');
  if (text === 'table') text = spec.defaultTable;
  if (text.startsWith('table')) text = text.slice('table'.length);
  else if (text === 'json') text = '{{json .}}';
  // as docker's lists: `\t` and `\n` typed literally are a tab and a newline (inspect keeps them)
  text = text.replace(/^ +| +$/g, '').replace(/\\t|\\n/g, (m) => (m === '\\t' ? '\t' : '\n'));
  const fields = [...Object.keys(spec.header), ...(spec.header.Labels ? ['Label "KEY"'] : [])];
  const t = parseFormat(text, fields, spec.command);
  const rows = items.map((item) => `${executeFormat(t, item, fields, spec.command)}\n`).join('');
  if (!isTable) return rows;
  let header: string;
  try {
    header = t.execute(new HeaderContext(spec.header), HEADER_FUNCTIONS);
  } catch (e) {
    // docker ignores a header that fails (`{{.Label "k"}}` has no title) and keeps what it wrote
    if (!(e instanceof TemplateExecError)) throw e;
    header = e.partial;
  }
  return tabwrite(`${header}\n${rows}`);
}

/** docker's --format of inspect: each object through the template, or `json` as one JSON array. */
export function formatInspect(format: string, objects: unknown[]): string {
  if (format === 'json') return `${goJson(objects)}\n`;
  const t = parseFormat(format, [], 'inspect');
  return objects.map((o) => `${executeFormat(t, o, [], 'inspect')}\n`).join('');
}
