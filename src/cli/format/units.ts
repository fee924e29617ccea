/**
 * The numbers and times docker's formatters print, written as docker's go-units and Go's time
 * package write them, so that `berth ps --format` and `docker ps --format` agree to the letter.
 */

/** units.HumanDuration: whole seconds and minutes (floored), hours rounded. */
export function goHumanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** Go's %.Ng: N significant digits, trailing zeros dropped, an exponent when it is < -4 or >= N. */
export function goG(x: number, precision: number): string {
  if (x === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(Number(x.toPrecision(precision)))));
  if (exp < -4 || exp >= precision) {
    const [mantissa, e] = x.toExponential(precision - 1).split('e');
    const m = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
    const n = Number(e);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return String(Number(x.toPrecision(precision)));
}

function scaled(size: number, base: number, units: string[]): [number, string] {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return [size, units[i]];
}

const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/** units.HumanSizeWithPrecision(size, 3): image, container and I/O sizes. */
export function humanSizePrecision(size: number, precision = 3): string {
  const [n, unit] = scaled(size, 1000, DECIMAL);
  return `${goG(n, precision)}${unit}`;
}

/** units.BytesSize: memory in binary units, four significant digits. */
export function bytesSize(size: number): string {
  const [n, unit] = scaled(size, 1024, BINARY);
  return `${goG(n, 4)}${unit}`;
}

const two = (n: number) => String(n).padStart(2, '0');

/** The zone abbreviation Go prints after the offset: UTC, CET, ...; else the offset again. */
function zoneName(d: Date): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName');
  const name = part?.value ?? '';
  if (d.getTimezoneOffset() === 0 && (name === 'UTC' || name === 'GMT')) return 'UTC';
  return /^[A-Z]{2,5}$/.test(name) ? name : offset(d);
}

function offset(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  return `${sign}${two(Math.floor(Math.abs(off) / 60))}${two(Math.abs(off) % 60)}`;
}

/** time.Time.String() in the local zone: "2024-05-01 10:00:00 +0000 UTC", fractions only when given. */
export function goTimeString(time: string | number, withFraction = false): string {
  const d = new Date(time);
  if (Number.isNaN(d.getTime())) return '0001-01-01 00:00:00 +0000 UTC';
  const date = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
  const clock = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  // an RFC 3339 string may carry up to nanoseconds; Go prints them without trailing zeros
  const digits = typeof time === 'string' ? (/\.(\d+)/.exec(time)?.[1] ?? '') : '';
  const fraction = withFraction && /[1-9]/.test(digits) ? `.${digits.replace(/0+$/, '')}` : '';
  return `${date} ${clock}${fraction} ${offset(d)} ${zoneName(d)}`;
}

/** stringid.TruncateID: the hex after any "sha256:", 12 characters. */
export function truncateId(id: string): string {
  const colon = id.indexOf(':');
  return (colon >= 0 ? id.slice(colon + 1) : id).slice(0, 12);
}

/** docker's formatter.Ellipsis for ASCII and other one-column text: cut to width with "…". */
export function ellipsis(s: string, maxWidth: number): string {
  const runes = [...s];
  if (runes.length <= maxWidth) return s;
  if (maxWidth <= 0) return '';
  if (maxWidth === 1) return runes[0];
  return `${runes.slice(0, maxWidth - 1).join('')}…`;
}
