import * as fs from 'node:fs';
import { BerthError } from '../errors';
import { Berth } from '../index';
import { positionals, type Command } from './command';

export const login: Command = {
  usage: 'login [OPTIONS] [REGISTRY]',
  summary: 'Log in to a registry (default docker.io); pulls from it then use these credentials.',
  help: `  -u, --username USER          Username
  -p, --password PASS          Password (visible to other users in the process list: prefer --password-stdin)
      --password-stdin         Read the password from standard input
      --insecure-registry HOST Allow plain http to HOST (localhost and 127.0.0.0/8 are always allowed)
Credentials are checked with the registry, then stored in <root>/auth.json (mode 0600).`,
  spec: { '--username': String, '-u': '--username', '--password': String, '-p': '--password', '--password-stdin': Boolean, '--insecure-registry': [String] },
  async run(args, global) {
    const [registry] = positionals(login, args, 0, 1);
    const username: string | undefined = args['--username'];
    let password: string | undefined = args['--password'];
    if (password !== undefined && args['--password-stdin']) {
      throw new BerthError('INVALID_ARGUMENT', 'Conflicting options: --password and --password-stdin; use one of them');
    }
    if (args['--password-stdin']) {
      if (username === undefined) throw new BerthError('INVALID_ARGUMENT', '--password-stdin needs the username as well; give it with -u USER');
      // As docker: the trailing newline of `echo $PASS |` is not part of the password.
      password = fs.readFileSync(0, 'utf8').replace(/[\r\n]+$/, '');
    } else if (password !== undefined) {
      process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    }
    if (username === undefined || password === undefined) {
      throw new BerthError('INVALID_ARGUMENT', 'berth login needs -u USER and a password (-p PASS or --password-stdin); it does not prompt');
    }
    await new Berth(global).login(registry ?? 'docker.io', { username, password }, { insecureRegistries: args['--insecure-registry'] });
    process.stdout.write('Login Succeeded\n');
    return 0;
  },
};

export const logout: Command = {
  usage: 'logout [REGISTRY]',
  summary: 'Forget the stored credentials of a registry (default docker.io).',
  help: '',
  spec: {},
  run(args, global) {
    const [registry] = positionals(logout, args, 0, 1);
    const shown = registry ?? 'docker.io';
    const removed = new Berth(global).logout(shown);
    process.stdout.write(removed ? `Removing login credentials for ${shown}\n` : `Not logged in to ${shown}\n`);
    return 0;
  },
};
