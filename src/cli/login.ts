import * as fs from 'node:fs';
import { BerthError } from '../errors';
import { Berth } from '../index';
import { command, positionals } from './command';
import { INSECURE_REGISTRY_FLAG } from './pull';

export const login = command({
  name: 'login',
  operands: '[REGISTRY]',
  summary: 'Log in to a registry (default docker.io); pulls from it then use these credentials.',
  notes: 'Credentials are checked with the registry, then stored in <root>/auth.json (mode 0600).',
  flags: [
    { name: '--username', short: 'u', kind: 'string', value: 'USER', help: 'Username' },
    {
      name: '--password',
      short: 'p',
      kind: 'string',
      value: 'PASS',
      help: 'Password (visible to other users in the process list: prefer --password-stdin)',
    },
    { name: '--password-stdin', kind: 'boolean', help: 'Take the password from stdin' },
    INSECURE_REGISTRY_FLAG,
  ],
  async run(args, global): Promise<number> {
    const [registry] = positionals(login, args, 0, 1);
    const username = args.username;
    let password = args.password;
    if (password !== undefined && args.passwordStdin) {
      throw new BerthError('INVALID_ARGUMENT', 'Conflicting options: --password and --password-stdin; use one of them');
    }
    if (args.passwordStdin) {
      if (username === undefined)
        throw new BerthError('INVALID_ARGUMENT', '--password-stdin needs the username as well; give it with -u USER');
      // As docker: the trailing newline of `echo $PASS |` is not part of the password.
      password = fs.readFileSync(0, 'utf8').replace(/[\r\n]+$/, '');
    } else if (password !== undefined) {
      process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    }
    if (username === undefined || password === undefined) {
      throw new BerthError(
        'INVALID_ARGUMENT',
        'berth login needs -u USER and a password (-p PASS or --password-stdin); it does not prompt',
      );
    }
    await new Berth(global).login(registry ?? 'docker.io', { username, password }, { insecureRegistries: args.insecureRegistry });
    process.stdout.write('Login Succeeded\n');
    return 0;
  },
});

export const logout = command({
  name: 'logout',
  operands: '[REGISTRY]',
  summary: 'Forget the stored credentials of a registry (default docker.io).',
  flags: [],
  run(args, global): number {
    const [registry] = positionals(logout, args, 0, 1);
    const shown = registry ?? 'docker.io';
    const removed = new Berth(global).logout(shown);
    process.stdout.write(removed ? `Removing login credentials for ${shown}\n` : `Not logged in to ${shown}\n`);
    return 0;
  },
});
