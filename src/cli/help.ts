/** --help text, docker's layout, generated from the command table and its flag table only. */
import type { Command, Subcommands } from './command';
import { withHelp, type Flags } from './flags';

/** Descriptions wrap under their own column past this width, so that none runs off an 80-100
 *  column terminal far to the right of its flag. */
const WIDTH = 100;

/** Aligned option lines: "  -m, --memory SIZE   Memory limit". Repeatable flags say so. */
export function optionLines(flags: Flags): string[] {
  const left = flags.map((f) => {
    const longNames = [f.name, ...(f.aliases ?? [])].join(', ');
    return `${f.short ? `  -${f.short}, ` : '      '}${longNames}${f.kind === 'boolean' ? '' : ` ${f.value}`}`;
  });
  const column = Math.max(...left.map((l) => l.length)) + 3;
  return flags.flatMap((f, i) => {
    const text = f.kind !== 'strings' ? f.help : f.help.endsWith(')') ? `${f.help.slice(0, -1)}; repeatable)` : `${f.help} (repeatable)`;
    return wrap(text, WIDTH - column).map((line, j) => (j === 0 ? left[i].padEnd(column) : ' '.repeat(column)) + line);
  });
}

/** Commands and what they do, aligned: "  ls, list   List networks." */
export function commandLines(rows: ReadonlyArray<readonly [names: string, summary: string]>): string[] {
  const column = Math.max(...rows.map(([names]) => names.length)) + 3;
  return rows.map(([names, summary]) => `  ${names.padEnd(column)}${summary}`);
}

/** A group's commands, each once with its other names. */
async function subcommandLines(subcommands: Subcommands): Promise<string[]> {
  const names = new Map<Command, string[]>();
  for (const [name, load] of Object.entries(subcommands)) {
    const cmd = await load();
    names.set(cmd, [...(names.get(cmd) ?? []), name]);
  }
  return commandLines([...names].map(([cmd, n]) => [n.join(', '), cmd.summary]));
}

/** The whole of `berth CMD --help`: usage line, summary, commands of a group, options, notes. */
export async function commandHelp(cmd: Command): Promise<string> {
  const sections = [`Usage: berth ${cmd.usage}`, cmd.summary];
  if (cmd.subcommands) sections.push(`Commands:\n${(await subcommandLines(cmd.subcommands)).join('\n')}`);
  sections.push(`Options:\n${optionLines(withHelp(cmd.flags)).join('\n')}`);
  if (cmd.notes) sections.push(cmd.notes);
  if (cmd.subcommands) sections.push(`Run 'berth ${cmd.name} COMMAND --help' for more information on a command.`);
  return `${sections.join('\n\n')}\n`;
}

/** Words into lines of at most width characters (a longer word gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, line];
}
