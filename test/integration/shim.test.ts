import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Berth } from '../../src/index';
import { MS } from '../../src/native/constants';
import { hostChanges, hostSnapshot, tempRoots, type HostSnapshot, type TempRoots } from '../helpers/env';
import { busyboxTar } from '../helpers/fixtures';
import {
  INIT_PATH,
  SHIM_PATH,
  alive,
  prepareContainer,
  processesWith,
  procStatus,
  readLog,
  readState,
  sleep,
  startShim,
  waitFor,
  writeShimConfig,
  type PreparedContainer,
  type ShimOptions,
  type ShimStart,
} from '../helpers/shim';

let roots: TempRoots;
let berth: Berth;
let scratch: string;
let before: HostSnapshot;
/** Every process a test started (shims and containers), and every container: checked and cleaned after each test. */
let pids: number[];
let containers: PreparedContainer[];

beforeAll(async () => {
  for (const bin of [SHIM_PATH, INIT_PATH])
    if (!fs.existsSync(bin)) throw new Error(`${bin} does not exist; run \`npm run install\` first`);
  roots = tempRoots();
  scratch = path.join(roots.base, 'shim');
  fs.mkdirSync(scratch);
  berth = new Berth({ root: roots.root, runRoot: roots.runRoot });
  await berth.importImage(busyboxTar(), 'busybox');
});
afterAll(() => roots?.cleanup());
beforeEach(() => {
  before = hostSnapshot();
  pids = [];
  containers = [];
});
afterEach(async () => {
  // Look first, then clean up whatever a failed test left, so that the next test starts clean.
  const running = pids.filter(alive);
  const changes = hostChanges(before);
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
  if (running.length > 0) await waitFor(() => !running.some(alive), 'leftover processes to die');
  for (const c of containers) berth.runtime.cgroups.remove(c.id);
  expect(running).toEqual([]);
  expect(changes).toEqual([]);
});

function container(cmd: string[], opts: Parameters<typeof prepareContainer>[2] = {}): PreparedContainer {
  const c = prepareContainer(berth, cmd, opts);
  containers.push(c);
  return c;
}

async function start(c: PreparedContainer, o: ShimOptions = {}): Promise<ShimStart & { shimPid: number }> {
  const s = await startShim(writeShimConfig(c, scratch, o));
  expect(s.line).toMatch(/^ok \d+ \d+$/);
  const state = readState(c)!;
  pids.push(state.shimPid, s.pid!);
  return { ...s, shimPid: state.shimPid };
}

/** The shim is not our child: it is gone when /proc says so. */
async function shimExit(c: PreparedContainer, shimPid: number) {
  await waitFor(() => !alive(shimPid), `shim ${shimPid} to exit`);
  return readState(c)!;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('berth-shim', () => {
  it('becomes the parent of the container, reports ok, and records the exit', async () => {
    const c = container(['sh', '-c', 'sleep 100']);
    const s = await start(c);
    // The process started here exits at once; the shim lives on outside our process tree.
    expect(s.launcherExit).toBe(0);
    expect(s.shimPid).not.toBe(process.pid);
    expect(Number(procStatus(s.pid!, 'PPid'))).toBe(s.shimPid);
    expect(Number(procStatus(s.shimPid, 'PPid'))).not.toBe(process.pid);
    const stat = fs.readFileSync(`/proc/${s.pid}/stat`, 'utf8');
    expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19])).toBe(s.startTime);
    const running = readState(c)!;
    expect(running).toMatchObject({ status: 'running', pid: s.pid, pidStartTime: s.startTime, restartCount: 0 });
    expect(running.startedAt).toMatch(ISO);
    for (const d of c.cgroupDirs.filter((d) => fs.existsSync(d)))
      expect(fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8')).toContain(String(s.pid));

    process.kill(s.pid!, 'SIGKILL');
    const exited = await shimExit(c, s.shimPid);
    expect(exited).toMatchObject({
      status: 'exited',
      pid: s.pid,
      pidStartTime: s.startTime,
      exitCode: 137,
      oomKilled: false,
      restartCount: 0,
      shimPid: s.shimPid,
    });
    expect(exited.finishedAt).toMatch(ISO);
    expect(Date.parse(exited.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(exited.startedAt));
    for (const d of c.cgroupDirs) expect(fs.existsSync(d)).toBe(false);
  });

  it('writes stdout and stderr to the log as json-file lines, the unfinished last line too', async () => {
    const c = container(['sh', '-c', 'echo out; echo err >&2; printf partial; exit 3']);
    const s = await start(c);
    const state = await shimExit(c, s.shimPid);
    expect(state.exitCode).toBe(3);
    const lines = fs.readFileSync(c.logFile, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(3);
    const entries = lines.map((l) => JSON.parse(l));
    expect(entries.map((e) => [e.log, e.stream])).toEqual([
      ['out\n', 'stdout'],
      ['err\n', 'stderr'],
      ['partial', 'stdout'],
    ]);
    for (const [i, e] of entries.entries()) {
      expect(Object.keys(e)).toEqual(['log', 'stream', 'time']);
      expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      expect(lines[i]).toBe(JSON.stringify(e));
    }
  });

  it('escapes control characters, replaces invalid UTF-8 and splits lines longer than 16 KiB', async () => {
    const c = container([
      'sh',
      '-c',
      `printf 'tab\\there "q" \\\\ \\001\\033 \\303\\251 \\377\\300\\257 end\\r\\n'; head -c 40000 /dev/zero | tr '\\0' x; echo`,
    ]);
    const s = await start(c);
    await shimExit(c, s.shimPid);
    const raw = fs.readFileSync(c.logFile, 'utf8');
    expect(raw.split('\n')[0]).toContain('"log":"tab\\there \\"q\\" \\\\ \\u0001\\u001b é \uFFFD\uFFFD\uFFFD end\\r\\n"');
    const entries = readLog(c.logFile);
    expect(entries[0].log).toBe('tab\there "q" \\ \u0001\u001b é \uFFFD\uFFFD\uFFFD end\r\n');
    expect(entries.slice(1).map((e) => e.log.length)).toEqual([16384, 16384, 40000 - 2 * 16384 + 1]);
    expect(
      entries
        .slice(1)
        .map((e) => e.log)
        .join(''),
    ).toBe('x'.repeat(40000) + '\n');
  });

  it("logs a tty container's output from the pty master as stdout", async () => {
    const c = container(['sh', '-c', 'test -t 1 && echo tty; echo err >&2']);
    c.plan.tty = true;
    const s = await start(c);
    await shimExit(c, s.shimPid);
    expect(readLog(c.logFile).map((e) => [e.log, e.stream])).toEqual([
      ['tty\r\n', 'stdout'],
      ['err\r\n', 'stdout'],
    ]);
  });

  it('gives the container only its stdio and keeps no descriptor of the launcher', async () => {
    const c = container(['sh', '-c', 'ls /proc/self/fd; sleep 100']);
    const s = await start(c);
    await waitFor(() => readLog(c.logFile).length > 0, 'the listing');
    // 0, 1, 2 and the one ls opened to list the directory
    expect(readLog(c.logFile).map((e) => e.log)).toEqual(['0\n', '1\n', '2\n', '3\n']);
    const fds = fs.readdirSync(`/proc/${s.shimPid}/fd`).map((fd) => fs.readlinkSync(`/proc/${s.shimPid}/fd/${fd}`));
    expect(fds.slice(0, 3)).toEqual(['/dev/null', '/dev/null', '/dev/null']);
    // signalfd, /dev/null for the container's stdin, the log, two pipes: nothing inherited
    expect(
      fds
        .slice(3)
        .map((f) => f.replace(/:\[\d+\]$/, ''))
        .sort(),
    ).toEqual(['/dev/null', 'anon_inode:[signalfd]', c.logFile, 'pipe', 'pipe'].sort());
    process.kill(s.pid!, 'SIGKILL');
    await shimExit(c, s.shimPid);
  });

  it('rotates the log at max size, keeping max files', async () => {
    const c = container(['sh', '-c', 'i=0; while [ $i -lt 40 ]; do echo line$i; i=$((i+1)); done']);
    const s = await start(c, { logMaxSize: 400, logMaxFiles: 3 });
    await shimExit(c, s.shimPid);
    const files = [`${c.logFile}.2`, `${c.logFile}.1`, c.logFile];
    for (const f of files) expect(fs.statSync(f).size).toBeLessThanOrEqual(400);
    expect(fs.existsSync(`${c.logFile}.3`)).toBe(false);
    const kept = files.flatMap((f) => readLog(f).map((e) => e.log));
    // The newest lines, in order, up to the very last one.
    const first = Number(/^line(\d+)/.exec(kept[0])![1]);
    expect(first).toBeGreaterThan(0);
    expect(kept).toEqual(Array.from({ length: 40 - first }, (_, i) => `line${first + i}\n`));
  });

  it('restart=on-failure with restart_max=2 runs three times, then stays exited', async () => {
    const c = container(['sh', '-c', 'echo run; exit 1']);
    const s = await start(c, { restart: 'on-failure', restartMax: 2 });
    const state = await shimExit(c, s.shimPid);
    expect(state).toMatchObject({ status: 'exited', exitCode: 1, restartCount: 2 });
    expect(readLog(c.logFile).map((e) => e.log)).toEqual(['run\n', 'run\n', 'run\n']);
    for (const d of c.cgroupDirs) expect(fs.existsSync(d)).toBe(false);
  });

  it('restart=always restarts a killed container, and the stop marker ends it', async () => {
    const c = container(['sh', '-c', 'sleep 100']);
    const s = await start(c, { restart: 'always' });
    process.kill(s.pid!, 'SIGKILL');
    await waitFor(() => readState(c)?.restartCount === 1 && readState(c)?.status === 'running', 'the restart');
    const restarted = readState(c)!;
    pids.push(restarted.pid);
    expect(restarted.pid).not.toBe(s.pid);
    expect(restarted.shimPid).toBe(s.shimPid);
    expect(Number(procStatus(restarted.pid, 'PPid'))).toBe(s.shimPid);
    fs.writeFileSync(c.stopMarker, '');
    process.kill(restarted.pid, 'SIGKILL');
    const state = await shimExit(c, s.shimPid);
    expect(state).toMatchObject({ status: 'exited', pid: restarted.pid, exitCode: 137, restartCount: 1 });
  });

  it('a container directory removed between restarts (rm of an exited container) ends the restarts', async () => {
    const c = container(['sh', '-c', 'echo run; exit 1']);
    const s = await start(c, { restart: 'always' });
    await waitFor(() => (readState(c)?.restartCount ?? 0) >= 3, 'three restarts');
    const gone = `${c.dir}.removed`;
    fs.renameSync(c.dir, gone);
    try {
      // without the check the shim restarts it forever; the backoff it is in lasts under 5 s
      await waitFor(() => !alive(s.shimPid), 'the shim to give up', 8000);
      const runs = readLog(path.join(gone, 'container.log')).length;
      const restarts = (JSON.parse(fs.readFileSync(path.join(gone, 'state.json'), 'utf8')) as { restartCount: number }).restartCount;
      expect(runs).toBeLessThanOrEqual(restarts + 2);
    } finally {
      fs.renameSync(gone, c.dir);
    }
  });

  it('the stop marker prevents on-failure restarts', async () => {
    const c = container(['sh', '-c', 'sleep 100']);
    const s = await start(c, { restart: 'on-failure' });
    fs.writeFileSync(c.stopMarker, '');
    process.kill(s.pid!, 'SIGTERM'); // ignored by a PID 1 without a handler
    await sleep(200);
    expect(alive(s.pid!)).toBe(true);
    process.kill(s.pid!, 'SIGKILL');
    expect(await shimExit(c, s.shimPid)).toMatchObject({ status: 'exited', exitCode: 137, restartCount: 0 });
  });

  it('takes the container with it when the shim is killed (parent death signal)', async () => {
    const c = container(['sh', '-c', 'sleep 100']);
    const s = await start(c);
    process.kill(s.shimPid, 'SIGKILL');
    await waitFor(() => !alive(s.pid!), 'the container to die with its shim');
    expect(alive(s.shimPid)).toBe(false);
    // Nobody recorded the exit: the state still says running, for a PID that is gone (`ps`
    // repairs that); the cgroups are left to that repair too.
    expect(readState(c)).toMatchObject({ status: 'running', pid: s.pid });
    berth.runtime.cgroups.remove(c.id);
  });

  it('--rm deletes the container directory and releases the name after the exit', async () => {
    // long enough for start() to read the state (and the shim's pid) before the shim removes it all
    const c = container(['sh', '-c', 'sleep 0.3; echo bye'], { name: 'shim-rm' });
    expect(fs.readlinkSync(c.nameLink)).toBe(c.id);
    const s = await start(c, { autoRemove: true });
    await shimExit(c, s.shimPid);
    expect(fs.existsSync(c.dir)).toBe(false);
    expect(fs.existsSync(path.join(path.dirname(c.dir), `.rm-${c.id}`))).toBe(false);
    expect(fs.existsSync(c.nameLink)).toBe(false);
    expect(berth.runtime.list().map((x) => x.config.id)).not.toContain(c.id);
  });

  it('reports an err line for a missing command and leaves no cgroup behind', async () => {
    const c = container(['no-such-command']);
    const s = await startShim(writeShimConfig(c, scratch));
    pids.push(...processesWith(`${c.id}.conf`));
    expect(s.launcherExit).toBe(0);
    expect(s.error).toEqual({ step: 'execve', errno: 2, index: 0, path: c.plan.execCandidates[0] });
    expect(s.line).toBe(`err execve\t2\t0\t${c.plan.execCandidates[0]}`);
    // The shim exits right after its report.
    await waitFor(() => processesWith(`${c.id}.conf`).length === 0, 'the shim to exit');
    for (const d of c.cgroupDirs) expect(fs.existsSync(d)).toBe(false);
    expect(readState(c)).toBeUndefined();
  });

  it('reports a config error on fd 3', async () => {
    const file = path.join(scratch, 'bad.conf');
    fs.writeFileSync(file, 'plan=relative/path\n');
    const s = await startShim(file);
    expect(s.line).toBe(`err parse config: expected an absolute path for plan but received "relative/path"\t22\t-1\t${file}`);
  });

  it('records an OOM kill', async () => {
    const c = container(['sh', '-c', 'x=$(head -c 64000000 /dev/zero | tr "\\0" a); echo survived'], { memory: '16m' });
    const s = await start(c);
    const state = await shimExit(c, s.shimPid);
    // The kernel picks the biggest process of the cgroup, the shell: exit 137 and nothing printed.
    expect(state).toMatchObject({ status: 'exited', oomKilled: true });
    expect(readLog(c.logFile).map((e) => e.log)).not.toContain('survived\n');
  });

  it('stays under 2 MiB of resident memory', async () => {
    const c = container(['sh', '-c', 'while true; do echo tick; sleep 0.05; done']);
    const s = await start(c);
    await sleep(500);
    const rssKiB = Number(/^(\d+) kB$/.exec(procStatus(s.shimPid, 'VmRSS')!)![1]);
    console.log(`berth-shim VmRSS ${rssKiB} kB (RssAnon ${procStatus(s.shimPid, 'RssAnon')}, RssFile ${procStatus(s.shimPid, 'RssFile')})`);
    expect(rssKiB).toBeLessThan(2048);
    expect(readLog(c.logFile).length).toBeGreaterThan(3);
    process.kill(s.pid!, 'SIGKILL');
    await shimExit(c, s.shimPid);
  });
});

describe('berth-init', () => {
  /** The container runs berth-init as PID 1, bound from the build onto /dev/init. */
  function withInit(script: string): PreparedContainer {
    const c = container(['sh', '-c', script]);
    const devTmpfs = c.plan.mounts.findIndex((m) => m.target === 'dev');
    c.plan.mounts.splice(devTmpfs + 1, 0, {
      kind: 'mount',
      target: 'dev/init',
      source: INIT_PATH,
      fstype: '',
      flags: MS.BIND,
      data: '',
      create: 2,
      sourceInRoot: false,
      optional: false,
      mode: 0,
      rdev: 0,
    });
    c.plan.argv = ['/dev/init', '--', 'sh', '-c', script];
    c.plan.execCandidates = ['/dev/init'];
    return c;
  }

  it('runs as PID 1, reaps orphaned zombies and passes the exit code through', async () => {
    const c = withInit(
      [
        'sh -c "sleep 0.2 & exit 0"', // the sleep is orphaned and reparented to PID 1
        'sleep 0.6',
        'cat /proc/1/cmdline | tr "\\0" " "; echo',
        'echo parent=$PPID',
        'for s in /proc/[0-9]*/stat; do cut -d" " -f3 $s; done | grep -c Z',
        'exit 7',
      ].join('; '),
    );
    const s = await start(c);
    const state = await shimExit(c, s.shimPid);
    expect(state.exitCode).toBe(7);
    expect(readLog(c.logFile).map((e) => e.log)).toEqual(['/dev/init -- sh -c ' + c.plan.argv[4] + ' \n', 'parent=1\n', '0\n']);
  });

  it('forwards SIGTERM: a shell child stops at once with 143', async () => {
    const c = withInit('sleep 100');
    const s = await start(c);
    await sleep(100); // let the child exec
    const t0 = Date.now();
    process.kill(s.pid!, 'SIGTERM');
    const state = await shimExit(c, s.shimPid);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(state.exitCode).toBe(143);
  });

  it('without it, SIGTERM to a shell as PID 1 does nothing', async () => {
    const c = container(['sh', '-c', 'sleep 100']);
    const s = await start(c);
    process.kill(s.pid!, 'SIGTERM');
    await sleep(300);
    expect(alive(s.pid!)).toBe(true);
    process.kill(s.pid!, 'SIGKILL');
    expect((await shimExit(c, s.shimPid)).exitCode).toBe(137);
  });
});
