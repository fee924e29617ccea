// berth's Go text/template engine (src/cli/format): each construct, Go's and docker's messages for
// mistakes, docker's functions and table headers, the tabwriter and go-units figures.
import { describe, expect, it } from 'vitest';
import { CONTAINER_HEADER, ContainerContext, displayablePorts, type ContainerSummary } from '../../src/cli/format/container-context';
import { IMAGE_HEADER, ImageContext, imageRows, StatsContext, VOLUME_HEADER, VolumeContext } from '../../src/cli/format/contexts';
import { formatInspect, formatList } from '../../src/cli/format/formatter';
import { tabwrite } from '../../src/cli/format/tabwriter';
import { Template } from '../../src/cli/format/template';
import { bytesSize, goG, goHumanDuration, humanSizePrecision } from '../../src/cli/format/units';

const data = {
  Name: '/web',
  State: { Pid: 42, Status: 'running', Running: true, Health: null },
  Config: { Labels: { tier: 'db', app: 'x' }, Env: ['A=1', 'B=2'], Empty: [] },
  Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] },
  N: 3,
  F: 1.5,
};
const run = (text: string, d: unknown = data) => Template.parse(text).execute(d);
const error = (text: string, d: unknown = data) => {
  try {
    run(text, d);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`no error for ${text}`);
};

describe('the template language', () => {
  it('reads fields, map keys and chains', () => {
    expect(run('{{.State.Pid}} {{.State.Status}} {{.Name}}')).toBe('42 running /web');
    expect(run('{{.Config.Labels.app}}')).toBe('x');
    expect(run('{{.Missing}}|{{.Config.Labels.none}}')).toBe('<no value>|<no value>');
    expect(run('{{(index .Ports "80/tcp" 0).HostPort}}')).toBe('8080');
    expect(run('{{$.N}}')).toBe('3');
    expect(run('{{.}}', 'plain')).toBe('plain');
  });

  it("prints as Go's fmt does: maps sorted, slices in brackets, nil", () => {
    expect(run('{{.Config.Labels}}')).toBe('map[app:x tier:db]');
    expect(run('{{.Config.Env}} {{.Config.Empty}}')).toBe('[A=1 B=2] []');
    expect(run('{{.State.Health}} {{.State.Running}} {{.F}}')).toBe('<nil> true 1.5');
  });

  it('json, in the order of the document, without HTML escaping', () => {
    expect(run('{{json .Config.Labels}}')).toBe('{"tier":"db","app":"x"}');
    expect(run('{{json .Config.Env}} {{json .State.Health}} {{json "<&>"}}')).toBe('["A=1","B=2"] null "<&>"');
    expect(run('{{.Config.Labels | json}}')).toBe('{"tier":"db","app":"x"}');
  });

  it('if, else if, else, with, and their truth', () => {
    expect(run('{{if .State.Running}}up{{else}}down{{end}}')).toBe('up');
    expect(run('{{if .Config.Empty}}a{{else if eq .N 3}}b{{else}}c{{end}}')).toBe('b');
    expect(run('{{with .Config.Labels}}{{.app}}{{end}}')).toBe('x');
    expect(run('{{with .Config.Empty}}x{{else}}none{{end}}')).toBe('none');
    expect(run('{{if and .N .Name}}both{{end}} {{if or .Config.Empty .F}}one{{end}} {{if not .Config.Empty}}empty{{end}}')).toBe(
      'both one empty',
    );
    expect(run('{{and 1 0 (index .Config.Env 9)}}')).toBe('0'); // and stops before the failing operand
  });

  it('range over slices and maps (in key order), with $k, $v, else, break and continue', () => {
    expect(run('{{range .Config.Env}}[{{.}}]{{end}}')).toBe('[A=1][B=2]');
    expect(run('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}')).toBe('app=x;tier=db;');
    expect(run('{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}')).toBe('0:A=1 1:B=2 ');
    expect(run('{{range .Config.Empty}}x{{else}}nothing{{end}}')).toBe('nothing');
    expect(run('{{range .Config.Env}}{{if eq . "B=2"}}{{break}}{{end}}{{.}}{{end}}')).toBe('A=1');
    expect(run('{{range .Config.Env}}{{if eq . "A=1"}}{{continue}}{{end}}{{.}}{{end}}')).toBe('B=2');
    expect(run('{{range $p, $conf := .Ports}}{{$p}} -> {{(index $conf 0).HostPort}}{{end}}')).toBe('80/tcp -> 8080');
  });

  it('variables: declare, assign, scope', () => {
    expect(run('{{$x := .Name}}{{$x}}')).toBe('/web');
    expect(run('{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}')).toBe('2');
    expect(error('{{if true}}{{$y := 1}}{{end}}{{$y}}')).toBe('template: :1: undefined variable "$y"');
  });

  it('trims whitespace at {{- and -}}, skips comments', () => {
    expect(run('a  {{- .N -}}  b')).toBe('a3b');
    expect(run('{{- /* a comment */ -}}\n  ok')).toBe('ok');
    expect(run('{{-3}}')).toBe('-3'); // no space after the dash: a number
  });

  it("Go's builtins", () => {
    expect(run('{{index .Config.Env 1}} {{index .Config.Labels "app"}} [{{index .Config.Labels "none"}}]')).toBe('B=2 x []');
    expect(run('{{len .Config.Env}} {{len .Config.Labels}} {{len "héllo"}}')).toBe('2 2 6');
    expect(run('{{printf "%s=%d %5.2f|%-4s|%q %v %t" "a" 7 3.14159 "x" "q" .Config.Env true}}')).toBe('a=7  3.14|x   |"q" [A=1 B=2] true');
    expect(run('{{print "a" 1 2 "b"}}|{{println "a" 1}}')).toBe('a1 2b|a 1\n');
    expect(run('{{eq .N 1 2 3}} {{ne .Name "/web"}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}}')).toBe(
      'true false true true true false',
    );
    expect(run('{{slice "abcdef" 1 3}} {{slice .Config.Env 1}}')).toBe('bc [B=2]');
    expect(run('{{\'a\'}} {{0x10}} {{1e3}} {{`raw\\n`}} {{"tab\\tx"}}')).toBe('97 16 1000 raw\\n tab\tx');
  });

  it("docker's functions", () => {
    expect(run('{{join .Config.Env ","}} {{join (split "a:b:c" ":") "-"}}')).toBe('A=1,B=2 a-b-c');
    expect(run('{{lower "AbC"}} {{upper "abc"}} {{title "hello wide world"}}')).toBe('abc ABC Hello Wide World');
    expect(run('[{{pad "x" 1 2}}] [{{pad "" 1 2}}] {{truncate "abcdef" 3}} {{truncate "ab" 3}}')).toBe('[ x  ] [] abc ab');
  });

  it("reports parse errors as Go's parser does", () => {
    expect(error('{{.Name}')).toBe("template: :1: bad character U+007D '}'");
    expect(error('{{.Name ,}}')).toBe('template: :1: unexpected "," in operand');
    expect(error('{{.Name')).toBe('template: :1: unclosed action');
    expect(error('{{if .N}}x')).toBe('template: :1: unexpected EOF');
    expect(error('{{end}}')).toBe('template: :1: unexpected {{end}}');
    expect(error('{{else}}')).toBe('template: :1: unexpected {{else}}');
    expect(error('{{nope .N}}')).toBe('template: :1: function "nope" not defined');
    expect(error('a\nb{{"open}}')).toBe('template: :2: unterminated quoted string');
    expect(error('{{break}}')).toBe('template: :1: {{break}} outside {{range}}');
    expect(error('{{if}}x{{end}}')).toBe('template: :1: missing value for if');
    expect(error('{{.N | "x"}}')).toBe('template: :1: non executable command in pipeline stage 2');
    expect(error('{{/* open')).toBe('template: :1: unclosed comment');
  });

  it("reports execution errors with line, column and the node, as Go's exec does", () => {
    expect(error('{{.Name.X}}')).toBe('template: :1:2: executing "" at <.Name.X>: can\'t evaluate field X in type string');
    expect(error('{{.State.Health.Status}}')).toBe(
      'template: :1:2: executing "" at <.State.Health.Status>: nil pointer evaluating interface {}.Status',
    );
    expect(error('ab\n {{index .Config.Env 5}}')).toBe(
      'template: :2:3: executing "" at <index .Config.Env 5>: error calling index: index out of range: 5',
    );
    expect(error('{{len .N}}')).toBe('template: :1:2: executing "" at <len .N>: error calling len: len of type int');
    expect(error('{{join .Name ","}}')).toBe(
      'template: :1:2: executing "" at <join .Name ",">: wrong type for value; expected []string; got string',
    );
    expect(error('{{eq .Name 1}}')).toBe(
      'template: :1:2: executing "" at <eq .Name 1>: error calling eq: incompatible types for comparison',
    );
    expect(error('{{.Config.Labels "k"}}')).toBe(
      'template: :1:2: executing "" at <.Config.Labels>: Labels is not a method but has arguments',
    );
  });
});

const summary: ContainerSummary = {
  Id: 'f'.repeat(64),
  Names: ['/web'],
  Image: 'docker.io/library/busybox',
  ImageID: `sha256:${'a'.repeat(64)}`,
  Command: 'sh -c "sleep 1000; echo done and more"',
  Created: Math.floor(Date.now() / 1000) - 125,
  Ports: [
    { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    { PrivatePort: 9000, Type: 'tcp' },
    { PrivatePort: 9001, Type: 'tcp' },
  ],
  Labels: { b: '2', a: '1' },
  State: 'running',
  Status: 'Up 2 minutes',
  NetworkSettings: { Networks: { bridge: {} } },
  Mounts: [{ Name: 'a-very-long-volume-name', Source: '/x', Driver: 'local' }, { Source: '/host/dir' }],
};

describe("docker's ps fields and tables", () => {
  it('reads as docker ps prints them', () => {
    const c = new ContainerContext(summary, true);
    const t = (f: string) => Template.parse(f).execute(c);
    expect(t('{{.ID}} {{.Names}} {{.Image}} {{.State}} {{.Status}}')).toBe('ffffffffffff web busybox running Up 2 minutes');
    expect(t('{{.Command}}')).toBe('"sh -c \\"sleep 1000; …"');
    expect(new ContainerContext(summary, false).Command()).toBe('"sh -c \\"sleep 1000; echo done and more\\""');
    expect(t('{{.RunningFor}}')).toBe('2 minutes ago');
    expect(t('{{.Labels}} {{.Label "a"}} [{{.Label "zz"}}]')).toBe('a=1,b=2 1 []');
    expect(t('{{.Mounts}} {{.LocalVolumes}} {{.Networks}} {{.Size}}')).toBe('a-very-long-vo…,/host/dir 1 bridge 0B');
    expect(t('{{.Ports}}')).toBe('9000-9001/tcp, 0.0.0.0:8080->80/tcp');
    expect(t('{{.CreatedAt}}')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \S+$/);
    expect(() => t('{{.Nope}}')).toThrow(/can't evaluate field Nope in type \*formatter.ContainerContext/);
  });

  it("titles a table's columns as docker does and aligns them with its tabwriter", () => {
    const rows = [new ContainerContext(summary, true), new ContainerContext({ ...summary, Names: ['/a-much-longer-name'] }, true)];
    const out = formatList(
      { format: 'table {{.ID}}\\t{{.Names}}\\t{{.State}}', header: CONTAINER_HEADER, defaultTable: '', command: 'ps' },
      rows,
    );
    expect(out).toBe(
      [
        'CONTAINER ID   NAMES                STATE',
        'ffffffffffff   web                  running',
        'ffffffffffff   a-much-longer-name   running',
        '',
      ].join('\n'),
    );
    const titles = (f: string) => formatList({ format: `table ${f}`, header: CONTAINER_HEADER, defaultTable: '', command: 'ps' }, []);
    expect(titles('{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Ports}}\t{{.CreatedAt}}|')).toBe(
      'IMAGE     COMMAND   CREATED   PORTS     CREATED AT|\n',
    );
    // header functions leave titles alone; pad still pads; a label is titled by its last part
    expect(titles('{{upper .Names}}\t{{json .Status}}\t{{pad .State 1 1}}|')).toBe('NAMES     STATUS     STATE |\n');
    expect(titles('{{.Label "com.example.app-tier"}}')).toBe('app tier\n');
    // a header that fails keeps what it wrote (docker ignores the error)
    expect(titles('{{.Names}}\t{{json .}}')).toBe('NAMES     \n');
  });

  it('table alone is the default table; json is one object per line', () => {
    const c = new ContainerContext(summary, true);
    const table = formatList({ format: 'table', header: CONTAINER_HEADER, defaultTable: 'table {{.ID}}\t{{.Names}}', command: 'ps' }, [c]);
    expect(table.split('\n')[0]).toBe('CONTAINER ID   NAMES');
    const json = formatList({ format: 'json', header: CONTAINER_HEADER, defaultTable: '', command: 'ps' }, [c, c]);
    const lines = json.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(Object.keys(JSON.parse(lines[0]))).toEqual(Object.keys(JSON.parse(lines[0])).sort());
    expect(JSON.parse(lines[0])).toMatchObject({ ID: 'ffffffffffff', Names: 'web', Labels: 'a=1,b=2', LocalVolumes: '1' });
  });

  it("a mistake is a BerthError with exit 125, docker's words and the fix", () => {
    const f = (format: string) => () =>
      formatList({ format, header: CONTAINER_HEADER, defaultTable: '', command: 'ps' }, [new ContainerContext(summary, true)]);
    expect(f('{{.Names}')).toThrow(/^failed to parse template: template: :1: bad character U\+007D '}'; close every action with "}}"$/);
    expect(f('{{.Nmes}}')).toThrow(
      /^failed to execute template: template: :1:2: executing "" at <.Nmes>: .*; the fields of berth ps are ID, Names,/,
    );
    try {
      f('{{if .Names}}')();
    } catch (e) {
      expect((e as { exitStatus: number }).exitStatus).toBe(125);
    }
  });

  it('docker ports: ranges, host mappings, IPv6 in brackets', () => {
    expect(displayablePorts([])).toBe('');
    expect(
      displayablePorts([
        { IP: '0.0.0.0', PrivatePort: 81, PublicPort: 81, Type: 'tcp' },
        { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 80, Type: 'tcp' },
        { IP: '::', PrivatePort: 53, PublicPort: 5353, Type: 'udp' },
      ]),
    ).toBe('0.0.0.0:80-81->80-81/tcp, [::]:5353->53/udp');
  });
});

describe('images, stats and volume fields', () => {
  it('one row per repository and tag, <none> for untagged', () => {
    const rows = imageRows(
      { id: `sha256:${'b'.repeat(64)}`, names: ['docker.io/library/busybox:latest', 'localhost:5000/x/y:1'], created: 0, size: 4_264_000 },
      false,
    );
    expect(rows.map((r) => `${r.repository}:${r.tag}`)).toEqual(['busybox:latest', 'localhost:5000/x/y:1']);
    expect(imageRows({ id: 'sha256:c', names: [], created: 0, size: 1 }, false)[0]).toMatchObject({ repository: '<none>', tag: '<none>' });
    const out = formatList(
      { format: 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}', header: IMAGE_HEADER, defaultTable: '', command: 'images' },
      rows.map((r) => new ImageContext(r, true)),
    );
    expect(out.split('\n')[0]).toBe('REPOSITORY           TAG       IMAGE ID       SIZE');
    expect(out.split('\n')[1]).toBe('busybox              latest    bbbbbbbbbbbb   4.26MB');
  });

  it('stats and volumes', () => {
    const s = new StatsContext(
      { container: 'web', name: 'web', id: 'f'.repeat(64), cpuPercent: 1.234, memory: 1_572_864, memoryLimit: 1 << 30, pids: 3 },
      true,
    );
    expect(Template.parse('{{.Container}} {{.ID}} {{.CPUPerc}} {{.MemUsage}} {{.MemPerc}} {{.NetIO}} {{.PIDs}}').execute(s)).toBe(
      'web ffffffffffff 1.23% 1.5MiB / 1GiB 0.15% 0B / 0B 3',
    );
    const v = new VolumeContext({ Name: 'data', Driver: 'local', Scope: 'local', Mountpoint: '/v', Labels: { k: 'v' } });
    expect(
      formatList(
        { format: 'table {{.Name}}\t{{.Driver}}\t{{.Label "k"}}', header: VOLUME_HEADER, defaultTable: '', command: 'volume ls' },
        [v],
      ),
    ).toBe('VOLUME NAME   DRIVER    k\ndata          local     v\n');
  });

  it('inspect: one line per object, json as one array, \\t kept as typed', () => {
    expect(formatInspect('{{.Name}}', [{ Name: 'a' }, { Name: 'b' }])).toBe('a\nb\n');
    expect(formatInspect('json', [{ Name: 'a' }])).toBe('[{"Name":"a"}]\n');
    expect(formatInspect('{{.Name}}\\t', [{ Name: 'a' }])).toBe('a\\t\n');
  });
});

describe("tabwriter and docker's units", () => {
  it('pads columns to at least 10, 3 past the widest cell, per block of lines', () => {
    expect(tabwrite('a\tb\tc\nlonger-than-ten\tx\ty\n')).toBe('a                 b         c\nlonger-than-ten   x         y\n');
    expect(tabwrite('a\tb\nno tabs here\nccc\td\n')).toBe('a         b\nno tabs here\nccc       d\n');
  });

  it('sizes and durations as go-units writes them', () => {
    expect([0, 999, 1000, 1234, 12_345, 123_456_789, 4_264_000].map((n) => humanSizePrecision(n))).toEqual([
      '0B',
      '999B',
      '1kB',
      '1.23kB',
      '12.3kB',
      '123MB',
      '4.26MB',
    ]);
    expect(humanSizePrecision(999.5)).toBe('1e+03B');
    expect([0, 1024, 1_572_864, 1 << 30].map(bytesSize)).toEqual(['0B', '1KiB', '1.5MiB', '1GiB']);
    expect(goG(0.000012345, 3)).toBe('1.23e-05');
    const s = 1000;
    expect(
      [
        0,
        1 * s,
        59 * s,
        61 * s,
        119 * s,
        3599 * s,
        3600 * s,
        47 * 3600 * s,
        50 * 3600 * s,
        20 * 86400 * s,
        90 * 86400 * s,
        800 * 86400 * s,
      ].map(goHumanDuration),
    ).toEqual([
      'Less than a second',
      '1 second',
      '59 seconds',
      'About a minute',
      'About a minute',
      '59 minutes',
      'About an hour',
      '47 hours',
      '2 days',
      '2 weeks',
      '3 months',
      '2 years',
    ]);
  });
});
