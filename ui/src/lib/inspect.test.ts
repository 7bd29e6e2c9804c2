import { describe, expect, it } from 'vitest';
import type { ContainerOutput } from './bindings/ContainerOutput';
import { exitSummary, inspectStep, kubectlExec, splitArgv, type InspectState } from './inspect';

const output = (exit: ContainerOutput['exit'], stdout = '', stderr = ''): ContainerOutput => ({
  stdout,
  stderr,
  stdoutTruncated: false,
  stderrTruncated: false,
  exit,
});

describe('splitArgv', () => {
  it('splits on blanks and keeps quoted words whole, expanding nothing', () => {
    expect(splitArgv('ls /etc/config')).toEqual({ ok: true, argv: ['ls', '/etc/config'] });
    expect(splitArgv('  cat\t/etc/resolv.conf  ')).toEqual({ ok: true, argv: ['cat', '/etc/resolv.conf'] });
    expect(splitArgv(`sh -c 'echo $HOME; ls *'`)).toEqual({ ok: true, argv: ['sh', '-c', 'echo $HOME; ls *'] });
    expect(splitArgv('echo "a \\"b\\" \\$x \\n"')).toEqual({ ok: true, argv: ['echo', 'a "b" $x \\n'] });
    expect(splitArgv('echo a\\ b c"d"\'e\'')).toEqual({ ok: true, argv: ['echo', 'a b', 'cde'] });
    expect(splitArgv(`printf '' x`)).toEqual({ ok: true, argv: ['printf', '', 'x'] });
  });

  it('refuses what a shell would refuse, with a reason', () => {
    expect(splitArgv("sh -c 'ls")).toEqual({ ok: false, error: 'A single quote is not closed.' });
    expect(splitArgv('echo "x')).toEqual({ ok: false, error: 'A double quote is not closed.' });
    expect(splitArgv('echo \\')).toEqual({ ok: false, error: 'The line ends with a backslash.' });
    expect(splitArgv('   ')).toMatchObject({ ok: false });
  });
});

describe('kubectlExec', () => {
  it('prints the command a terminal takes, quoted only where needed', () => {
    expect(kubectlExec('kq-config', 'web-7d9f', null, ['ls', '/etc/config'])).toBe(
      'kubectl exec -n kq-config web-7d9f -- ls /etc/config',
    );
    expect(kubectlExec('kq-config', 'web', 'sidecar', ['sh', '-c', "echo it's $HOME"])).toBe(
      `kubectl exec -n kq-config web -c sidecar -- sh -c 'echo it'\\''s $HOME'`,
    );
    // What it prints splits back into the same argv.
    const argv = ['printf', '%s\n', '', 'a b'];
    const line = kubectlExec('ns', 'p', null, argv);
    const split = splitArgv(line);
    expect(split.ok && split.argv.slice(6)).toEqual(argv);
  });
});

describe('exitSummary', () => {
  it('names the exit code, a timeout and a command that could not run', () => {
    expect(exitSummary(output({ kind: 'code', code: 0 }))).toEqual({ text: 'exit code 0', ok: true });
    expect(exitSummary(output({ kind: 'code', code: 1 }))).toEqual({ text: 'exit code 1', ok: false });
    expect(exitSummary(output({ kind: 'timedOut', seconds: 10 }))).toEqual({
      text: 'stopped after 10 s: the command was still running',
      ok: false,
    });
    expect(exitSummary(output({ kind: 'failed', message: 'x' })).ok).toBe(false);
  });
});

describe('inspectStep', () => {
  const where = { namespace: 'kq-a', pod: 'web', container: null };

  it('runs, shows the result, and runs again from the typed line', () => {
    let s: InspectState = { phase: 'idle' };
    s = inspectStep(s, { type: 'run', line: 'cat /etc/hostname', ...where });
    expect(s).toEqual({
      phase: 'running',
      run: 1,
      argv: ['cat', '/etc/hostname'],
      command: 'kubectl exec -n kq-a web -- cat /etc/hostname',
    });
    // A second run while one is running is ignored (the button is busy).
    expect(inspectStep(s, { type: 'run', line: 'env', ...where })).toBe(s);
    const out = output({ kind: 'code', code: 0 }, 'web\n');
    s = inspectStep(s, { type: 'result', run: 1, output: out });
    expect(s).toMatchObject({ phase: 'done', run: 1, output: out });
    s = inspectStep(s, { type: 'run', line: 'ls /nope', ...where });
    expect(s).toMatchObject({ phase: 'running', run: 2 });
    const error = { kind: 'cluster' as const, message: 'pods "web" not found' };
    s = inspectStep(s, { type: 'error', run: 2, error });
    expect(s).toMatchObject({ phase: 'failed', run: 2, error });
  });

  it('drops an answer for an older run and keeps the count through a bad line', () => {
    let s: InspectState = inspectStep({ phase: 'idle' }, { type: 'run', line: 'env', ...where });
    s = inspectStep(s, { type: 'result', run: 1, output: output({ kind: 'code', code: 0 }) });
    s = inspectStep(s, { type: 'run', line: "echo 'x", ...where });
    expect(s).toEqual({ phase: 'invalid', run: 1, error: 'A single quote is not closed.' });
    s = inspectStep(s, { type: 'run', line: 'env', ...where });
    expect(s).toMatchObject({ phase: 'running', run: 2 });
    expect(inspectStep(s, { type: 'result', run: 1, output: output({ kind: 'code', code: 3 }) })).toBe(s);
  });
});
