/** A bad command line or input of berth-oci: printed as one line, exit status 1 as runc's. */
export class OciCliError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OciCliError';
  }
}

/** An error's message with its causes (BerthError's `cause` chain), as one line: containerd and
 *  podman show the runtime's last error line, so the cause must be on it, not on a line after. */
export function errorMessage(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 8; depth++) {
    const msg = cur instanceof Error ? cur.message : String(cur);
    // A wrapper that already repeats its cause's text adds nothing.
    if (!parts.some((p) => p.includes(msg))) parts.push(msg);
    cur = cur instanceof Error ? (cur as Error & { cause?: unknown }).cause : undefined;
  }
  // eslint-disable-next-line no-control-regex
  return parts.join(': ').replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => JSON.stringify(c).slice(1, -1));
}

/** The code of a BerthError (or of anything shaped like one), without loading src/errors.ts. */
export function errorCode(e: unknown): string | undefined {
  const code = e instanceof Error ? (e as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}
