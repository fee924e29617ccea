import { BerthError } from '../errors';
import { Berth } from '../index';
import { checkContainerOptions } from '../runtime/option-checks';
import { attachForeground, foregroundStdio } from './attach';
import { command } from './command';
import { claimCidfile, envWithFiles, labelsWithFiles } from './run-files';

const run = command({
  name: 'run',
  operands: 'IMAGE [COMMAND] [ARG...]',
  summary: 'Create and run a new container from an image, in the foreground.',
  stopAtPositional: true,
  flags: [
    { name: '--interactive', short: 'i', kind: 'boolean', help: 'Keep STDIN open even if not attached' },
    { name: '--tty', short: 't', kind: 'boolean', help: 'Allocate a pseudo-TTY' },
    { name: '--rm', kind: 'boolean', help: 'Automatically remove the container when it exits' },
    { name: '--name', kind: 'string', value: 'NAME', help: 'Assign a name to the container' },
    { name: '--env', short: 'e', kind: 'strings', value: 'KEY=VALUE', help: 'Set an environment variable (KEY alone copies it from here)' },
    { name: '--workdir', short: 'w', kind: 'string', value: 'DIR', help: 'Working directory inside the container' },
    { name: '--hostname', short: 'h', kind: 'string', value: 'NAME', help: 'Container host name' },
    { name: '--user', short: 'u', kind: 'string', value: 'UID[:GID]', help: 'Username or UID (format: <name|uid>[:<group|gid>])' },
    { name: '--volume', short: 'v', kind: 'strings', value: 'HOST:CTR[:ro]', help: 'Bind mount a host directory (created if missing)' },
    { name: '--memory', short: 'm', kind: 'string', value: 'SIZE', help: 'Memory limit, like 64m or 1g' },
    { name: '--memory-swap', kind: 'string', value: 'SIZE', help: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap" },
    { name: '--cpus', kind: 'string', value: 'N', help: 'Number of CPUs, like 0.5' },
    { name: '--cpu-shares', short: 'c', kind: 'string', value: 'N', help: 'CPU shares (relative weight, default 1024)' },
    {
      name: '--cpu-period',
      kind: 'string',
      value: 'US',
      help: 'Limit CPU CFS (Completely Fair Scheduler) period, 1000 to 1000000 microseconds',
    },
    { name: '--cpu-quota', kind: 'string', value: 'US', help: 'Limit CPU CFS (Completely Fair Scheduler) quota, microseconds per period' },
    { name: '--cpuset-mems', kind: 'string', value: 'LIST', help: 'Memory nodes (MEMs) in which to allow execution (0-3, 0,1)' },
    { name: '--memory-reservation', kind: 'string', value: 'SIZE', help: 'Memory soft limit, like 32m' },
    { name: '--memory-swappiness', kind: 'string', value: 'N', help: 'Tune container memory swappiness (0 to 100; cgroup v1 only)' },
    { name: '--oom-kill-disable', kind: 'boolean', help: 'Disable OOM Killer (cgroup v1 only)' },
    { name: '--blkio-weight', kind: 'string', value: 'N', help: 'Block IO (relative weight), between 10 and 1000, or 0 to disable' },
    { name: '--blkio-weight-device', kind: 'strings', value: 'DEVICE:WEIGHT', help: 'Block IO weight (relative device weight)' },
    {
      name: '--device-read-bps',
      kind: 'strings',
      value: 'DEVICE:RATE',
      help: 'Limit read rate (bytes per second) from a device, like /dev/sda:1mb',
    },
    { name: '--device-write-bps', kind: 'strings', value: 'DEVICE:RATE', help: 'Limit write rate (bytes per second) to a device' },
    { name: '--device-read-iops', kind: 'strings', value: 'DEVICE:N', help: 'Limit read rate (IO per second) from a device' },
    { name: '--device-write-iops', kind: 'strings', value: 'DEVICE:N', help: 'Limit write rate (IO per second) to a device' },
    { name: '--cpuset-cpus', kind: 'string', value: 'LIST', help: 'CPUs in which to allow execution (0-3, 0,1)' },
    { name: '--pids-limit', kind: 'string', value: 'N', help: 'Tune container pids limit (set -1 for unlimited)' },
    { name: '--storage-driver', kind: 'string', value: 'NAME', help: 'overlay or aufs' },
    { name: '--detach', short: 'd', kind: 'boolean', help: 'Run container in background under a shim and print container ID' },
    { name: '--init', kind: 'boolean', help: 'Run an init inside the container that forwards signals and reaps processes' },
    {
      name: '--security-opt',
      kind: 'strings',
      value: 'OPT',
      help: 'Security options: seccomp=unconfined (no seccomp filter), no-new-privileges',
    },
    { name: '--cap-add', kind: 'strings', value: 'CAP', help: 'Add Linux capabilities (NET_ADMIN, CAP_SYS_PTRACE, ALL)' },
    { name: '--cap-drop', kind: 'strings', value: 'CAP', help: 'Drop Linux capabilities (or ALL)' },
    { name: '--privileged', kind: 'boolean', help: 'Give extended privileges: every capability and device, no seccomp, no masked paths' },
    {
      name: '--restart',
      kind: 'string',
      value: 'POLICY',
      help: 'Restart policy to apply when a detached container exits: no, always, unless-stopped, on-failure[:N]',
    },
    { name: '--log-opt', kind: 'strings', value: 'KEY=VALUE', help: 'Log options of a detached container: max-size=10m, max-file=3' },
    { name: '--entrypoint', kind: 'string', value: 'CMD', help: 'Overwrite the default ENTRYPOINT of the image ("" for none)' },
    { name: '--pull', kind: 'string', value: 'POLICY', help: 'Pull image before running: always, missing, never (default missing)' },
    {
      name: '--network',
      aliases: ['--net'],
      kind: 'string',
      value: 'NET',
      help: "Connect the container to a network: bridge (berth's default network; the default unless $BERTH_DEFAULT_NETWORK names another), none (loopback only), host, or a network from 'berth network create'",
    },
    { name: '--ip', kind: 'string', value: 'IP', help: 'IPv4 address on a user-defined network (e.g., 172.30.100.104)' },
    { name: '--mac-address', kind: 'string', value: 'MAC', help: "MAC address of the container's interface (e.g., 92:d0:c6:0a:29:33)" },
    { name: '--dns', kind: 'strings', value: 'IP', help: "Set custom DNS servers for /etc/resolv.conf (default: the host's)" },
    {
      name: '--add-host',
      kind: 'strings',
      value: 'HOST:IP',
      help: 'Add a custom host-to-IP mapping to /etc/hosts (IP may be host-gateway)',
    },
    {
      name: '--publish',
      short: 'p',
      kind: 'strings',
      value: 'SPEC',
      help: "Publish a container's ports to the host: [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp], ranges like 8000-8002:80-82 (a bridge network)",
    },
    { name: '--publish-all', short: 'P', kind: 'boolean', help: 'Publish every port the image exposes on free host ports' },
    { name: '--read-only', kind: 'boolean', help: "Mount the container's root filesystem as read only" },
    {
      name: '--tmpfs',
      kind: 'strings',
      value: 'PATH[:OPTS]',
      help: 'Mount a tmpfs directory (default options noexec,nosuid,nodev), like /run:rw,size=64m',
    },
    { name: '--shm-size', kind: 'string', value: 'SIZE', help: 'Size of /dev/shm (default 64m)' },
    { name: '--ulimit', kind: 'strings', value: 'NAME=SOFT[:HARD]', help: 'Ulimit options, like nofile=1024:2048 (-1 for unlimited)' },
    {
      name: '--sysctl',
      kind: 'strings',
      value: 'KEY=VALUE',
      help: 'Namespaced kernel parameters: kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.* (not with --network host)',
    },
    { name: '--oom-score-adj', kind: 'string', value: 'N', help: "Tune host's OOM preferences (-1000 to 1000)" },
    { name: '--group-add', kind: 'strings', value: 'GROUP', help: 'Add additional groups to join (a gid or a name in the image)' },
    { name: '--domainname', kind: 'string', value: 'NAME', help: 'Container NIS domain name' },
    { name: '--env-file', kind: 'strings', value: 'FILE', help: 'Read in a file of environment variables (KEY=VALUE lines, # comments)' },
    { name: '--label', short: 'l', kind: 'strings', value: 'KEY=VALUE', help: 'Set meta data on a container' },
    { name: '--label-file', kind: 'strings', value: 'FILE', help: 'Read in a line delimited file of labels' },
    { name: '--cidfile', kind: 'string', value: 'FILE', help: 'Write the container ID to the file (refused if it exists)' },
  ],
  async run(args, global): Promise<number> {
    const [image, ...cmd] = args._;
    if (!image) throw new BerthError('INVALID_ARGUMENT', `"berth run" requires at least 1 argument; usage: berth ${run.usage}`);
    const { tty, interactive } = args;
    if (tty && interactive && !process.stdin.isTTY) {
      throw new BerthError('INVALID_ARGUMENT', 'the input device is not a TTY; drop -t or run berth from a terminal');
    }
    const berth = new Berth(global);
    const options = {
      image,
      cmd,
      name: args.name,
      env: envWithFiles(args.envFile, args.env),
      workdir: args.workdir,
      hostname: args.hostname,
      user: args.user,
      volumes: args.volume,
      memory: args.memory,
      memorySwap: args.memorySwap,
      cpus: args.cpus,
      cpuShares: args.cpuShares,
      cpusetCpus: args.cpusetCpus,
      pidsLimit: args.pidsLimit,
      cpuPeriod: args.cpuPeriod,
      cpuQuota: args.cpuQuota,
      cpusetMems: args.cpusetMems,
      memoryReservation: args.memoryReservation,
      memorySwappiness: args.memorySwappiness,
      oomKillDisable: args.oomKillDisable,
      blkioWeight: args.blkioWeight,
      blkioWeightDevice: args.blkioWeightDevice,
      deviceReadBps: args.deviceReadBps,
      deviceWriteBps: args.deviceWriteBps,
      deviceReadIops: args.deviceReadIops,
      deviceWriteIops: args.deviceWriteIops,
      storageDriver: args.storageDriver ?? global.storageDriver,
      tty,
      interactive,
      rm: args.rm,
      init: args.init,
      securityOpt: args.securityOpt,
      capAdd: args.capAdd,
      capDrop: args.capDrop,
      privileged: args.privileged,
      restart: args.restart,
      logOpts: args.logOpt,
      entrypoint: args.entrypoint,
      pull: args.pull,
      network: args.network,
      ip: args.ip,
      mac: args.macAddress,
      dns: args.dns,
      addHosts: args.addHost,
      publish: args.publish,
      publishAll: args.publishAll,
      readOnly: args.readOnly,
      tmpfs: args.tmpfs,
      shmSize: args.shmSize,
      ulimits: args.ulimit,
      sysctls: args.sysctl,
      oomScoreAdj: args.oomScoreAdj,
      groupAdd: args.groupAdd,
      domainname: args.domainname,
      labels: labelsWithFiles(args.labelFile, args.label),
    };
    // before the image is looked for: a bad flag must not cost a pull
    checkContainerOptions(options, 'berth run', false);
    if (args.detach && (interactive || tty))
      throw new BerthError(
        'INVALID_ARGUMENT',
        'Conflicting options: -d with -i or -t; attaching to detached containers is not supported yet (use berth exec -it)',
      );
    if (!args.detach && options.restart !== undefined && options.restart !== 'no') {
      throw new BerthError('INVALID_ARGUMENT', 'A restart policy needs a detached container: add -d');
    }
    const cidfile = claimCidfile(args.cidfile);
    let proc;
    try {
      if (args.detach) {
        const info = await berth.runDetached(options);
        cidfile.write(info.config.id);
        process.stdout.write(`${info.config.id}\n`);
        return 0;
      }
      await berth.ensureImage(image, options.pull);
      proc = berth.spawn({ ...options, ...foregroundStdio(tty, interactive) });
    } catch (e) {
      cidfile.abandon();
      throw e;
    }
    cidfile.write(proc.id);
    const status = await attachForeground(proc, tty, interactive);
    if (status.oomKilled) {
      process.stderr.write(`berth: container ${proc.name} was killed by the OOM killer: it needed more memory than its --memory limit\n`);
    }
    return status.exitCode;
  },
});

export default run;
