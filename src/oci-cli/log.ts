/**
 * berth-oci's log, as runc's logrus: `--log FILE` (default stderr), `--log-format text|json`.
 * containerd's shim and conmon pass `--log <file> --log-format json` and, when a command fails,
 * show the `msg` of the last `"level":"error"` line of that file; people read stderr. So an error
 * goes to the log in its format and, when the log is a file, once more to stderr as one plain
 * `berth-oci: ...` line (runc's fatal() does the same).
 */
import * as fs from 'node:fs';
import { OciCliError } from './errors';

export type LogFormat = 'text' | 'json';
export type Level = 'debug' | 'info' | 'warning' | 'error';

export interface LogOptions {
  /** A path; '' or /dev/stderr means stderr. */
  file: string;
  format: string;
  debug: boolean;
  /** Where stderr lines go (tests capture them). */
  stderr?: (line: string) => void;
}

export class Logger {
  readonly format: LogFormat;
  private readonly file: string | undefined;
  private readonly debugEnabled: boolean;
  private readonly stderr: (line: string) => void;

  constructor(o: LogOptions) {
    this.stderr = o.stderr ?? ((line) => process.stderr.write(line));
    if (o.format !== 'text' && o.format !== 'json') throw new OciCliError(`invalid log-format: ${o.format}`);
    this.format = o.format;
    this.file = o.file === '' || o.file === '/dev/stderr' ? undefined : o.file;
    this.debugEnabled = o.debug;
  }

  /** A Logger for failures that happen before the global flags are read (a bad --log-format). */
  static fallback(stderr?: (line: string) => void): Logger {
    return new Logger({ file: '', format: 'text', debug: false, stderr });
  }

  debug(msg: string): void {
    if (this.debugEnabled) this.write('debug', msg);
  }

  warn(msg: string): void {
    this.write('warning', msg);
  }

  /** The one line of a failed command: in the log and, where the log is a file, on stderr. */
  error(msg: string): void {
    this.write('error', msg);
    if (this.file !== undefined) this.stderr(`berth-oci: ${msg}\n`);
  }

  private write(level: Level, msg: string): void {
    // Seconds, UTC: the RFC 3339 form logrus writes and go-runc and conmon parse.
    const time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (this.file === undefined) {
      // stderr is the log: people read text as one plain line; a caller that asked for json
      // without a --log file parses stderr, and gets the json line.
      this.stderr(this.format === 'json' ? jsonLine(level, msg, time) : `berth-oci: ${level === 'error' ? '' : `${level}: `}${msg}\n`);
      return;
    }
    const line =
      this.format === 'json' ? jsonLine(level, msg, time) : `time=${JSON.stringify(time)} level=${level} msg=${JSON.stringify(msg)}\n`;
    try {
      // O_APPEND: the caller may keep one log file for every command of a container.
      fs.appendFileSync(this.file, line, { mode: 0o644 });
    } catch (e) {
      this.stderr(`berth-oci: cannot write the log ${JSON.stringify(this.file)}: ${(e as Error).message}\n`);
    }
  }
}

function jsonLine(level: Level, msg: string, time: string): string {
  return JSON.stringify({ level, msg, time }) + '\n';
}
