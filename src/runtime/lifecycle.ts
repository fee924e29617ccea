import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../errors';
import { encodePlan } from '../native/plan-codec';
import { processStartTime } from '../util/proc';
import { quote } from '../util/quote';
import { safely } from '../util/safely';
import { isRunning, isStopped } from './container-predicates';
import { startError } from './errors';
import { attachSocketPath, connectAttach, type AttachConnection, type AttachStart } from './attach-socket';
import { readLogs, type LogEntry, type ReadLogOptions } from './logs';
import type { Runtime } from './runtime';
import { startHealthMonitor } from './health/monitor';
import { CLI_PATH, formatShimConfig, startShim } from './shim';
import type { ContainerInfo, ContainerState } from './types';
import { stopPlan } from './stop-options';
import { releaseShmStart, sharesShm, unmountShareableShm } from './ipc-shm';
import { containerAttributes, shimEventTemplate } from './events-journal';
import { thawIfPaused } from './container-pause';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Files of a detached container, beside its config. */
export function containerFiles(dir: string) {
  return {
    plan: path.join(dir, 'spawn.plan'),
    shimConfig: path.join(dir, 'shim.conf'),
    log: path.join(dir, 'container.log'),
    stopMarker: path.join(dir, 'stopped'),
    state: path.join(dir, 'state.json'),
  };
}

/**
 * Detached containers: started under berth-shim, which outlives this process, then stopped,
 * signalled and waited for from any later process. The truth about a container is its state.json
 * (written by the shim) checked against the live process (pid + start time).
 */
export class Lifecycle {
  constructor(private readonly rt: Runtime) {}

  /** Starts a created or exited container under a shim; resolves once it runs. With `attach`,
   *  the shim holds a connection from before the container starts (start -a, a foreground run). */
  async startDetached(info: ContainerInfo, attach?: AttachStart): Promise<ContainerInfo> {
    const { config } = info;
    const dir = this.rt.prepareStart(info);
    // the network first: the shim's container (and its every restart) joins it
    const netns = this.rt.attachNetworks(config, dir);
    try {
      return await this.launch(info, dir, netns, attach);
    } catch (e) {
      if (netns) safely(() => this.rt.networks.release(config.id));
      safely(() => unmountShareableShm(config, dir));
      throw e;
    } finally {
      // the state names the new shim now (or the start failed): repairs see it from here on
      releaseShmStart(config, dir);
    }
  }

  private async launch(info: ContainerInfo, dir: string, netns: string | undefined, attach?: AttachStart): Promise<ContainerInfo> {
    const { config } = info;
    const files = containerFiles(dir);
    const cgroups = this.rt.cgroupsOf(config);
    const attachSocket = attachSocketPath(this.rt.runRoot, config.id);
    const plan = this.rt.startPlan(config, dir, { fds: [0, 1, 2], tty: config.tty, ttySize: attach?.ttySize ?? [24, 80] }, netns);
    fs.writeFileSync(files.plan, encodePlan(plan));
    const memoryDir = cgroups.version === 1 ? cgroups.dirs(config.id).find((d) => d.includes('/memory/')) : cgroups.dirs(config.id)[0];
    // Without a memory hierarchy there is nothing to read an OOM kill from.
    const oom = memoryDir
      ? { oomFile: path.join(memoryDir, cgroups.version === 1 ? 'memory.oom_control' : 'memory.events'), oomKey: 'oom_kill' }
      : {};
    fs.writeFileSync(
      files.shimConfig,
      formatShimConfig({
        plan: files.plan,
        state: files.state,
        log: config.log?.driver === 'none' ? undefined : files.log,
        logMaxSize: config.log?.maxSize ?? 10 * 1024 * 1024,
        logMaxFiles: config.log?.maxFiles ?? 3,
        cgroupDirs: cgroups.dirs(config.id),
        ...oom,
        restart: config.restart ?? { name: 'no', maxRetries: 0 },
        stopMarker: files.stopMarker,
        ...(config.autoRemove ? { removeDir: dir, nameLink: path.join(this.rt.store.dir, '.names', config.name) } : {}),
        // networks are released by Node code: the shim runs `berth container cleanup` at the final exit
        // (also the anonymous volumes of an --rm container, which the shim itself removed)
        // and the /dev/shm mount of a shareable container (src/runtime/ipc-shm.ts)
        ...((netns || sharesShm(config) || (config.autoRemove && config.volumes.some((v) => v.anonymous))) && fs.existsSync(CLI_PATH)
          ? {
              exitCommand: [
                process.execPath,
                CLI_PATH,
                '--root',
                this.rt.root,
                '--runroot',
                this.rt.runRoot,
                'container',
                'cleanup',
                config.id,
              ],
            }
          : {}),
        // the shim appends the die of every exit (and the start of its restarts, the destroy of an
        // --rm container) itself: nobody else may be there to see them
        events: {
          journal: this.rt.events.file,
          die: shimEventTemplate('die', config.id, containerAttributes(config), true),
          start: shimEventTemplate('start', config.id, containerAttributes(config), false),
          ...(config.autoRemove ? { destroy: shimEventTemplate('destroy', config.id, containerAttributes(config), false) } : {}),
        },
        attachSocket,
        attached: !!attach,
        stdinOpen: config.interactive,
        stdinOnce: !!attach?.stdinOnce,
      }),
    );
    fs.mkdirSync(path.dirname(attachSocket), { recursive: true, mode: 0o700 });
    fs.rmSync(files.stopMarker, { force: true });
    // before the shim: its die (a command that ends at once) must come after this start
    this.rt.events.container('start', config);
    let shim;
    try {
      shim = await startShim(files.shimConfig, undefined, !!attach);
    } catch (e) {
      if (e instanceof BerthError) throw e;
      throw startError(e, config, plan);
    }
    if (shim.attach) attach!.onAttach(shim.attach);
    let started: ContainerInfo;
    try {
      started = this.rt.resolve(config.id);
    } catch (e) {
      // an --rm container that was quicker than us: it ran, exited and its shim removed it
      if (!(e instanceof BerthError && e.code === 'CONTAINER_NOT_FOUND' && config.autoRemove)) throw e;
      started = { config, state: { status: 'exited', pid: shim.pid, pidStartTime: shim.startTime } };
    }
    // the network lives as long as the shim from now on (across restarts of the container); one
    // that is gone already is released by setOwner
    if (netns) safely(() => this.rt.networks.setOwner(config.id, started.state.shimPid ?? started.state.pid!));
    if (config.healthcheck && isRunning(started.state))
      safely(() => startHealthMonitor(config, started.state, dir, cgroups.joinFiles(config.id)));
    return started;
  }

  /** docker stop: its stop signal (SIGTERM unless --stop-signal or the image's STOPSIGNAL), SIGKILL
   *  after `timeout` seconds (default its --stop-timeout, else 10); the restart policy no longer applies. */
  async stop(ref: string, timeoutSeconds?: number): Promise<ContainerInfo> {
    const info = this.rt.resolve(ref);
    const dir = this.rt.store.containerDir(info.config.id);
    fs.writeFileSync(containerFiles(dir).stopMarker, '');
    if (!isRunning(info.state)) return info;
    const { pid, pidStartTime } = info.state;
    const { signal, timeoutMs } = stopPlan(info.config, timeoutSeconds);
    // docker's order: kill (the stop signal), the die the shim reports, then stop
    this.rt.events.container('kill', info.config, { signal: String(signal) });
    if (signalIfAlive(pid!, pidStartTime, signal)) {
      safely(() => thawIfPaused(this.rt.cgroupsOf(info.config), info));
      if (!(await gone(pid!, pidStartTime, timeoutMs))) {
        this.rt.events.container('kill', info.config, { signal: '9' });
        signalIfAlive(pid!, pidStartTime, 9);
        await gone(pid!, pidStartTime, 10_000);
      }
    }
    const settled = await this.settled(info.config.id);
    this.rt.events.container('stop', info.config);
    return settled;
  }

  /** docker kill: any signal (a number: util/signals parses names) to the container's init process. */
  kill(ref: string, signal: number): ContainerInfo {
    const info = this.rt.resolve(ref);
    if (isRunning(info.state)) this.rt.events.container('kill', info.config, { signal: String(signal) });
    if (!isRunning(info.state) || !signalIfAlive(info.state.pid!, info.state.pidStartTime, signal)) {
      throw new BerthError('INVALID_STATE', `Container ${quote(info.config.name)} is not running`);
    }
    // the signals that end it reach a paused container once thawed; others wait for unpause, as docker's
    if (signal === 9 || signal === stopPlan(info.config).signal) safely(() => thawIfPaused(this.rt.cgroupsOf(info.config), info));
    return info;
  }

  /** rm -f of a running container: SIGKILL, with the stop marker first so that its restart policy
   *  does not bring it back, then the shim's record of the exit. */
  async killForRemoval(info: ContainerInfo): Promise<void> {
    fs.writeFileSync(containerFiles(this.rt.store.containerDir(info.config.id)).stopMarker, '');
    const { pid, pidStartTime } = info.state;
    this.rt.events.container('kill', info.config, { signal: '9' });
    if (pid !== undefined && signalIfAlive(pid, pidStartTime, 9)) {
      safely(() => thawIfPaused(this.rt.cgroupsOf(info.config), info));
      await gone(pid, pidStartTime, 5000);
    }
    await this.settled(info.config.id);
  }

  /** docker logs: the json-file log the shim keeps; with follow, until the container stops for good. */
  logs(ref: string, opts: Omit<ReadLogOptions, 'done'> = {}): AsyncGenerator<LogEntry> {
    const { id, log } = this.rt.resolve(ref).config;
    if (log?.driver === 'none')
      throw new BerthError(
        'INVALID_STATE',
        'configured logging driver does not support reading (the container runs with --log-driver none)',
      );
    const done = () => {
      try {
        return !isRunning(this.rt.resolve(id).state);
      } catch {
        return true; // removed
      }
    };
    return readLogs(containerFiles(this.rt.store.containerDir(id)).log, { ...opts, done });
  }

  /** docker attach: a connection to a running container's shim. */
  attach(ref: string): Promise<AttachConnection> {
    const { config, state } = this.rt.resolve(ref);
    if (!isRunning(state)) throw new BerthError('INVALID_STATE', 'You cannot attach to a stopped container, start it first');
    return connectAttach(attachSocketPath(this.rt.runRoot, config.id), quote(config.name));
  }

  /** docker wait: resolves with the exit code once the container has stopped for good (a restart
   *  policy may restart it in between: the state is followed until it stays exited). */
  async wait(ref: string, pollMs = 50): Promise<ContainerState> {
    const id = this.rt.resolve(ref).config.id;
    for (;;) {
      const c = this.rt.store.read(id);
      if (!c) throw new BerthError('CONTAINER_NOT_FOUND', `No such container: ${quote(ref)}`);
      const info = this.rt.resolve(id);
      if (isStopped(info.state)) return info.state;
      await sleep(pollMs);
    }
  }

  /** After the process is gone: the shim records the exit; wait for that record (bounded), and
   *  repair the state if no shim is left to write it. */
  async settled(id: string, timeoutMs = 5000): Promise<ContainerInfo> {
    const deadline = Date.now() + timeoutMs;
    let last: ContainerInfo | undefined;
    for (;;) {
      let info: ContainerInfo;
      try {
        info = this.rt.resolve(id);
      } catch (e) {
        // an --rm container's shim removed it: it has settled for good
        if (e instanceof BerthError && e.code === 'CONTAINER_NOT_FOUND') return last!;
        throw e;
      }
      last = info;
      const shim = info.state.shimPid;
      if (!isRunning(info.state) && (shim === undefined || processStartTime(shim) === undefined || Date.now() > deadline)) return info;
      if (Date.now() > deadline) return info;
      await sleep(5);
    }
  }
}

/** Sends sig to pid if it is still the process that started at startTime; false if gone. */
export function signalIfAlive(pid: number, startTime: number | undefined, sig: number): boolean {
  if (processStartTime(pid) !== startTime) return false;
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number, startTime: number | undefined, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processStartTime(pid) === startTime) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}
