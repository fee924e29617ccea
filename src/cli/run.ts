import { BerthError } from '../errors';
import { Berth } from '../index';
import { checkContainerOptions } from '../runtime/options';
import { attachForeground, foregroundStdio } from './attach';
import type { Command } from './command';

const run: Command = {
  usage: 'run [OPTIONS] IMAGE [COMMAND] [ARG...]',
  summary: 'Create and run a new container from an image, in the foreground.',
  help: `  -i, --interactive            Keep STDIN open
  -t, --tty                    Allocate a pseudo-TTY
      --rm                     Remove the container when it exits
      --name NAME              Assign a name to the container
  -e, --env KEY=VALUE          Set an environment variable (repeatable; KEY alone copies it from here)
  -w, --workdir DIR            Working directory inside the container
  -h, --hostname NAME          Container host name
  -u, --user UID[:GID]         User (name or uid) and group (name or gid) to run as
  -v, --volume HOST:CTR[:ro]   Bind mount a host directory (repeatable)
  -m, --memory SIZE            Memory limit, like 64m or 1g
      --memory-swap SIZE       Memory plus swap limit; -1 for unlimited swap
      --cpus N                 Number of CPUs, like 0.5
      --cpu-shares N           Relative CPU weight (default 1024)
      --cpuset-cpus LIST       CPUs to run on, like 0-1 or 0,2
      --pids-limit N           Maximum number of processes; -1 for unlimited
      --storage-driver NAME    overlay or aufs
  -d, --detach                 Run in the background under a shim; print the container ID
      --init                   Run an init as PID 1 that reaps zombies and forwards signals
      --security-opt OPT       seccomp=unconfined (no seccomp filter), no-new-privileges
      --cap-add CAP            Add a capability (NET_ADMIN, CAP_SYS_PTRACE, ALL)
      --cap-drop CAP           Drop a capability (or ALL)
      --privileged             Every capability and device, no seccomp, no masked paths
      --restart POLICY         no, always, unless-stopped, on-failure[:N] (detached containers)
      --log-opt KEY=VALUE      max-size=10m, max-file=3 (detached containers)
      --network, --net NET     bridge (the default network berth; default unless
                               $BERTH_DEFAULT_NETWORK names another), none (loopback only),
                               host, or a network from 'berth network create'
      --ip IP                  IPv4 address on a user-defined network
      --mac-address MAC        MAC address of the container's interface
      --dns IP                 Nameserver for /etc/resolv.conf (repeatable; default: the host's)
      --add-host HOST:IP       Add an /etc/hosts entry (repeatable; IP may be host-gateway)
  -p, --publish SPEC           Publish ports: [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp],
                               ranges like 8000-8002:80-82 (repeatable; a bridge network)
  -P, --publish-all            Publish every port the image exposes on free host ports`,
  stopAtPositional: true,
  spec: {
    '--interactive': Boolean, '-i': '--interactive',
    '--tty': Boolean, '-t': '--tty',
    '--rm': Boolean,
    '--name': String,
    '--env': [String], '-e': '--env',
    '--workdir': String, '-w': '--workdir',
    '--hostname': String, '-h': '--hostname',
    '--user': String, '-u': '--user',
    '--volume': [String], '-v': '--volume',
    '--memory': String, '-m': '--memory',
    '--memory-swap': String,
    '--cpus': String,
    '--cpu-shares': String,
    '--cpuset-cpus': String,
    '--pids-limit': String,
    '--storage-driver': String,
    '--detach': Boolean, '-d': '--detach',
    '--init': Boolean,
    '--security-opt': [String],
    '--cap-add': [String],
    '--cap-drop': [String],
    '--privileged': Boolean,
    '--restart': String,
    '--log-opt': [String],
    '--entrypoint': String,
    '--pull': String,
    '--network': String, '--net': '--network',
    '--ip': String,
    '--mac-address': String,
    '--dns': [String],
    '--add-host': [String],
    '--publish': [String], '-p': '--publish',
    '--publish-all': Boolean, '-P': '--publish-all',
  },
  async run(args, global) {
    const [image, ...cmd] = args._;
    if (!image) throw new BerthError('INVALID_ARGUMENT', '"berth run" requires at least 1 argument; usage: berth run [OPTIONS] IMAGE [COMMAND] [ARG...]');
    const tty = !!args['--tty'];
    const interactive = !!args['--interactive'];
    if (tty && interactive && !process.stdin.isTTY) {
      throw new BerthError('INVALID_ARGUMENT', 'the input device is not a TTY; drop -t or run berth from a terminal');
    }
    const berth = new Berth(global);
    const options = {
      image,
      cmd,
      name: args['--name'],
      env: args['--env'],
      workdir: args['--workdir'],
      hostname: args['--hostname'],
      user: args['--user'],
      volumes: args['--volume'],
      memory: args['--memory'],
      memorySwap: args['--memory-swap'],
      cpus: args['--cpus'],
      cpuShares: args['--cpu-shares'],
      cpusetCpus: args['--cpuset-cpus'],
      pidsLimit: args['--pids-limit'],
      storageDriver: args['--storage-driver'] ?? global.storageDriver,
      tty,
      interactive,
      rm: !!args['--rm'],
      init: !!args['--init'],
      securityOpt: args['--security-opt'],
      capAdd: args['--cap-add'],
      capDrop: args['--cap-drop'],
      privileged: !!args['--privileged'],
      restart: args['--restart'],
      logOpts: args['--log-opt'],
      entrypoint: args['--entrypoint'],
      pull: args['--pull'],
      network: args['--network'],
      ip: args['--ip'],
      mac: args['--mac-address'],
      dns: args['--dns'],
      addHosts: args['--add-host'],
      publish: args['--publish'],
      publishAll: !!args['--publish-all'],
    };
    // before the image is looked for: a bad flag must not cost a pull
    checkContainerOptions(options, 'berth run', false);
    if (args['--detach']) {
      if (interactive || tty) throw new BerthError('INVALID_ARGUMENT', 'Conflicting options: -d with -i or -t; attaching to detached containers is not supported yet (use berth exec -it)');
      const info = await berth.runDetached(options);
      process.stdout.write(`${info.config.id}\n`);
      return 0;
    }
    if (options.restart !== undefined && options.restart !== 'no') {
      throw new BerthError('INVALID_ARGUMENT', 'A restart policy needs a detached container: add -d');
    }
    await berth.ensureImage(image, options.pull);
    const proc = berth.spawn({ ...options, ...foregroundStdio(tty, interactive) });
    const status = await attachForeground(proc, tty, interactive);
    if (status.oomKilled) {
      process.stderr.write(`berth: container ${proc.name} was killed by the OOM killer: it needed more memory than its --memory limit\n`);
    }
    return status.exitCode;
  },
};

export default run;
