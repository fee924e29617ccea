/** docker's -l/--label (and the entries of --label-file): KEY=VALUE, or KEY for an empty value. */
import { invalid } from '../errors';

export function parseLabels(labels: readonly string[] | Readonly<Record<string, string>> | undefined): Record<string, string> {
  const entries = Array.isArray(labels)
    ? labels.map((l): [string, string, string] => {
        const eq = l.indexOf('=');
        return eq < 0 ? [l, '', l] : [l.slice(0, eq), l.slice(eq + 1), l];
      })
    : Object.entries(labels ?? {}).map(([k, v]): [string, string, string] => [k, v, `${k}=${v}`]);
  const out: Record<string, string> = {};
  for (const [key, value, given] of entries) {
    if (key === '' || /\s/.test(key) || /[\0]/.test(value)) throw invalid('--label', 'KEY=VALUE with a KEY without whitespace', given);
    out[key] = value;
  }
  return out;
}

/** The image's labels under the container's own, as docker merges them. */
export function containerLabels(
  imageLabels: Readonly<Record<string, string>> | undefined,
  given: readonly string[] | Readonly<Record<string, string>> | undefined,
): Record<string, string> | undefined {
  const labels = { ...(imageLabels ?? {}), ...parseLabels(given) };
  return Object.keys(labels).length > 0 ? labels : undefined;
}
