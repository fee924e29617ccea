import { describe, expect, expectTypeOf, it } from 'vitest';
import { BerthError } from '../../src/errors';
import { parse, type Command } from '../../src/cli/command';
import { COMMANDS, GLOBAL_FLAGS, globalHelp } from '../../src/cli/commands';
import { argSpec, flagKey, spellings, withHelp, type Flags } from '../../src/cli/flags';
import { commandHelp } from '../../src/cli/help';
import run from '../../src/cli/run';
import exec from '../../src/cli/exec';
import { caught } from '../helpers/caught';
import { runCli } from '../helpers/env';

/** Every command of the table, the subcommands of groups (image, network, container) included. */
async function allCommands(): Promise<Command[]> {
  const found = new Set<Command>();
  const visit = async (cmd: Command): Promise<void> => {
    if (found.has(cmd)) return;
    found.add(cmd);
    for (const load of Object.values(cmd.subcommands ?? {})) await visit(await load());
  };
  for (const [, load] of Object.values(COMMANDS)) await visit(await load());
  return [...found];
}

/** The flag spellings an options section of --help shows: "  -e, --env KEY=VALUE   ..." gives -e and --env. */
function helpSpellings(help: string): string[] {
  const options = help.split('\n\nOptions:\n')[1].split('\n\n')[0];
  return options
    .split('\n')
    .map((line) => /^(?: {2}(-\w), | {6})(--[\w-]+(?:, --[\w-]+)*)/.exec(line))
    .filter((m) => m !== null)
    .flatMap((m) => [...(m[1] ? [m[1]] : []), ...m[2].split(', ')]);
}

const sorted = (a: Iterable<string>) => [...a].sort();

describe('every flag a command accepts is in its --help, and nothing else is', () => {
  it('holds for every command and subcommand of the table', async () => {
    const commands = await allCommands();
    expect(commands.length).toBeGreaterThanOrEqual(Object.keys(COMMANDS).length);
    for (const cmd of commands) {
      const parsed = Object.keys(argSpec(withHelp(cmd.flags)));
      expect(sorted(helpSpellings(await commandHelp(cmd))), cmd.name).toEqual(sorted(parsed));
      expect(cmd.usage.startsWith(`${cmd.name} `) || cmd.usage === cmd.name, cmd.name).toBe(true);
      expect(cmd.usage.includes('[OPTIONS]'), cmd.name).toBe(cmd.flags.length > 0);
    }
  });

  it('holds for the global options', () => {
    expect(sorted(helpSpellings(globalHelp()))).toEqual(sorted(Object.keys(argSpec(GLOBAL_FLAGS))));
  });

  it('lists what run --help once lacked', async () => {
    const help = await commandHelp(run);
    for (const flag of ['--entrypoint', '--pull', '--cap-add', '--cap-drop', '--privileged', '--network', '--net', '--publish-all', '-P']) {
      expect(helpSpellings(help), flag).toContain(flag);
    }
  });

  it('gives no spelling to two flags, and each flag a key of its own', async () => {
    const tables: Array<[string, Flags]> = [
      ['global', GLOBAL_FLAGS],
      ...(await allCommands()).map((c): [string, Flags] => [c.name, withHelp(c.flags)]),
    ];
    for (const [name, flags] of tables) {
      const all = flags.flatMap(spellings);
      expect(sorted(new Set(all)), name).toEqual(sorted(all));
      const keys = flags.map((f) => flagKey(f.name));
      expect(sorted(new Set(keys)), name).toEqual(sorted(keys));
      // FlagKey (the type) and flagKey (the function) agree on names of plain words and dashes
      for (const f of flags) expect(f.name, name).toMatch(/^--[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
    }
  });
});

describe('parsed arguments are typed from the table', () => {
  it('run: short flags combined, repeated flags in order, the command after the image untouched', () => {
    const args = parse(run, [
      '-it',
      '--rm',
      '-e',
      'A=1',
      '--env=B=2',
      '-v',
      '/h:/c:ro',
      '--net',
      'none',
      '--cap-add',
      'NET_ADMIN',
      '--pull=never',
      '--entrypoint',
      '',
      '-m',
      '64m',
      '-P',
      'busybox',
      'sh',
      '-c',
      'echo',
      '--rm',
      '-e',
      'X',
    ]);
    expect(args).toMatchObject({
      interactive: true,
      tty: true,
      rm: true,
      detach: false,
      env: ['A=1', 'B=2'],
      volume: ['/h:/c:ro'],
      network: 'none',
      capAdd: ['NET_ADMIN'],
      capDrop: undefined,
      pull: 'never',
      entrypoint: '',
      memory: '64m',
      publishAll: true,
      help: false,
      _: ['busybox', 'sh', '-c', 'echo', '--rm', '-e', 'X'],
    });
    expectTypeOf(args.detach).toEqualTypeOf<boolean>();
    expectTypeOf(args.env).toEqualTypeOf<string[] | undefined>();
    expectTypeOf(args.memorySwap).toEqualTypeOf<string | undefined>();
    expectTypeOf(args._).toEqualTypeOf<string[]>();
    // @ts-expect-error: no such flag in run's table
    void args.bogus;
  });

  it("exec: the command's own flags pass through, and -- ends the options", () => {
    const args = parse(exec, ['-d', '-u', '0:0', '-w', '/tmp', 'c1', 'ls', '-la', '--tty']);
    expect(args).toMatchObject({ detach: true, tty: false, user: '0:0', workdir: '/tmp', env: undefined, _: ['c1', 'ls', '-la', '--tty'] });
    expectTypeOf(args.tty).toEqualTypeOf<boolean>();
    expect(parse(exec, ['--', '-c1', 'true'])._).toEqual(['-c1', 'true']);
  });

  it("--help is every command's", () => {
    expect(parse(run, ['--help']).help).toBe(true);
    expect(parse(exec, ['c1', '--help']).help).toBe(false);
  });
});

describe('an unknown flag', () => {
  it('is one line naming it and the help to read', () => {
    const e = caught(() => parse(run, ['--bogus', 'busybox']));
    expect(e).toBeInstanceOf(BerthError);
    expect([e.code, e.message]).toEqual(['INVALID_ARGUMENT', "unknown flag: --bogus; see 'berth run --help'"]);
  });

  it('exits 125 from the CLI, with one stderr line and nothing on stdout', async () => {
    for (const [argv, hint] of [
      [['run', '--bogus', 'busybox'], 'berth run --help'],
      [['network', 'create', '-x', 'n'], 'berth network create --help'],
      [['--bogus', 'ps'], 'berth --help'],
    ] as const) {
      const r = await runCli([...argv]);
      const flag = argv.find((a) => a.startsWith('-'));
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
        code: 125,
        stdout: '',
        stderr: `berth: unknown flag: ${flag}; see '${hint}'\n`,
      });
    }
  });
});
