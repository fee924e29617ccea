// docker's --detach-keys syntax and the scan of input for them (src/cli/attach.ts).
import { describe, expect, it } from 'vitest';
import { detachScanner, flagSetFalse, parseDetachKeys } from '../../src/cli/attach';

describe('parseDetachKeys', () => {
  it('reads letters and ctrl-X as docker does', () => {
    expect(parseDetachKeys('ctrl-p,ctrl-q')).toEqual([16, 17]);
    expect(parseDetachKeys('ctrl-a,x')).toEqual([1, 120]);
    expect(parseDetachKeys('ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_')).toEqual([0, 27, 28, 29, 30, 31]);
    expect(parseDetachKeys('CTRL-Z')).toEqual([26]);
  });

  it('refuses anything else with docker’s message', () => {
    for (const bad of ['', 'ctrl-1', 'ctrl-', 'ab', 'ctrl-p,,ctrl-q']) {
      expect(() => parseDetachKeys(bad)).toThrow(/^Invalid detach keys \(.*\) provided/);
    }
  });
});

describe('detachScanner', () => {
  const run = (keys: number[], chunks: string[]) => {
    const scan = detachScanner(keys);
    let out = '';
    for (const c of chunks) {
      const r = scan(Buffer.from(c, 'latin1'));
      out += r.out.toString('latin1');
      if (r.detach) return { out, detach: true };
    }
    return { out, detach: false };
  };

  it('detaches on the sequence, even split over chunks, and sends what came before', () => {
    expect(run([16, 17], ['ab\x10\x11cd'])).toEqual({ out: 'ab', detach: true });
    expect(run([16, 17], ['ab\x10', '\x11'])).toEqual({ out: 'ab', detach: true });
    expect(run([24], ['x\x18'])).toEqual({ out: 'x', detach: true });
  });

  it('passes a partial match on once it fails, and finds a match that starts inside it', () => {
    expect(run([16, 17], ['\x10a'])).toEqual({ out: '\x10a', detach: false });
    expect(run([16, 17], ['\x10', '\x10\x11'])).toEqual({ out: '\x10', detach: true });
    expect(run([1, 120], ['\x01y\x01x'])).toEqual({ out: '\x01y', detach: true });
  });
});

describe('flagSetFalse', () => {
  it('sees --flag=false before the operand only', () => {
    expect(flagSetFalse(['run', '--sig-proxy=false', 'busybox'], '--sig-proxy', 'busybox')).toBe(true);
    expect(flagSetFalse(['run', '--sig-proxy=0', 'busybox'], '--sig-proxy', 'busybox')).toBe(true);
    expect(flagSetFalse(['run', '--sig-proxy', 'busybox'], '--sig-proxy', 'busybox')).toBe(false);
    expect(flagSetFalse(['run', 'busybox', 'cmd', '--sig-proxy=false'], '--sig-proxy', 'busybox')).toBe(false);
  });
});
