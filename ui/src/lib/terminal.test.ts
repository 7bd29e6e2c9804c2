import { afterEach, describe, expect, it, vi } from 'vitest';
import { Acknowledger, INPUT_PIECE, inputPieces, isDark, isTerminalShortcut, keyAction, styleText, terminalTheme } from './terminal';

const key = (over: Partial<KeyboardEvent>) =>
  ({ type: 'keydown', key: '', code: '', ctrlKey: false, shiftKey: false, altKey: false, metaKey: false, ...over }) as KeyboardEvent;

describe('terminal keys', () => {
  it('copies and pastes with Ctrl+Shift+C and Ctrl+Shift+V, leaving Ctrl+C to interrupt the shell', () => {
    expect(keyAction(key({ key: 'C', code: 'KeyC', ctrlKey: true, shiftKey: true }), false)).toBe('copy');
    expect(keyAction(key({ key: 'V', code: 'KeyV', ctrlKey: true, shiftKey: true }), false)).toBe('paste');
    expect(keyAction(key({ key: 'c', code: 'KeyC', ctrlKey: true }), false), 'Ctrl+C is the shell’s interrupt').toBe('shell');
    expect(keyAction(key({ key: 'v', code: 'KeyV', ctrlKey: true }), false), 'Ctrl+V is the shell’s literal-next').toBe('shell');
  });

  it('lets Esc leave at the prompt but gives it to a full-screen program such as vi', () => {
    expect(keyAction(key({ key: 'Escape', code: 'Escape' }), false)).toBe('leave');
    expect(keyAction(key({ key: 'Escape', code: 'Escape' }), true), 'kubectl edit opens vi, which needs Esc').toBe('shell');
  });

  it('always leaves with Ctrl+`, even in a full-screen program', () => {
    const shortcut = key({ key: '`', code: 'Backquote', ctrlKey: true });
    expect(isTerminalShortcut(shortcut)).toBe(true);
    expect(keyAction(shortcut, true)).toBe('leave');
    expect(isTerminalShortcut(key({ key: '`', code: 'Backquote' })), 'a plain backquote is typed').toBe(false);
  });

  it('gives Tab and key releases to the shell (completion, and xterm’s own handling)', () => {
    expect(keyAction(key({ key: 'Tab', code: 'Tab' }), false)).toBe('shell');
    expect(keyAction(key({ type: 'keyup', key: 'Escape', code: 'Escape' }), false)).toBe('shell');
  });
});

describe('inputPieces', () => {
  it('sends a short input as it is', () => {
    expect(inputPieces('kubectl get pods\r')).toEqual(['kubectl get pods\r']);
    expect(inputPieces('')).toEqual([]);
  });

  it('cuts a long paste into pieces the IPC accepts, losing nothing', () => {
    const paste = 'x'.repeat(INPUT_PIECE * 2 + 5);
    const pieces = inputPieces(paste);
    expect(pieces.map((p) => p.length)).toEqual([INPUT_PIECE, INPUT_PIECE, 5]);
    expect(pieces.join('')).toBe(paste);
  });

  it('never splits an emoji (a surrogate pair) across two pieces', () => {
    const pieces = inputPieces('ab😀cd', 3);
    expect(pieces).toEqual(['ab', '😀c', 'd']);
    // A lone surrogate would reach the shell as U+FFFD instead of the emoji.
    const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    for (const p of pieces) expect(lone.test(p), `${JSON.stringify(p)} has no lone surrogate`).toBe(false);
  });
});

describe('Acknowledger', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('acknowledges a large draw at once and small ones together after a pause', () => {
    vi.useFakeTimers();
    const sent: number[] = [];
    const ack = new Acknowledger((n) => sent.push(n), 1000, 50);
    ack.drawn(1500);
    expect(sent, 'past the threshold, at once').toEqual([1500]);
    ack.drawn(10);
    ack.drawn(20);
    expect(sent).toEqual([1500]);
    vi.advanceTimersByTime(50);
    expect(sent, 'small draws in one message').toEqual([1500, 30]);
    vi.advanceTimersByTime(500);
    expect(sent, 'nothing more without new output').toEqual([1500, 30]);
  });

  it('sends nothing after it is disposed', () => {
    vi.useFakeTimers();
    const sent: number[] = [];
    const ack = new Acknowledger((n) => sent.push(n), 1000, 50);
    ack.drawn(10);
    ack.dispose();
    vi.advanceTimersByTime(100);
    expect(sent).toEqual([]);
  });
});

describe('terminal theme', () => {
  it('follows the Settings choice, and the system when none was made', () => {
    expect(isDark('dark', false)).toBe(true);
    expect(isDark('light', true)).toBe(false);
    expect(isDark(undefined, true)).toBe(true);
    expect(isDark(undefined, false)).toBe(false);
  });

  it('takes its background, text and cursor from the page’s theme variables', () => {
    const vars: Record<string, string> = { '--surface-sunken': ' #10141a', '--text': '#e7ebf2', '--accent': '#5b8def' };
    const theme = terminalTheme(true, (name) => vars[name] ?? '');
    expect(theme.background).toBe('#10141a');
    expect(theme.foreground).toBe('#e7ebf2');
    expect(theme.cursor).toBe('#5b8def');
  });

  it('gives light and dark themes different ANSI colours, and falls back on odd variables', () => {
    const light = terminalTheme(false, () => 'rgb(1 2 3 / 0.5)');
    const dark = terminalTheme(true, () => '');
    expect(light.background, 'a colour xterm.js cannot parse is not used').toBe('#eef0f4');
    expect(dark.background).toBe('#10141a');
    expect(light.red).not.toBe(dark.red);
    expect(light.foreground).not.toBe(dark.foreground);
  });
});

describe('styleText', () => {
  it('joins xterm.js’s style elements in order', () => {
    expect(styleText([{ textContent: '.a{}' }, { textContent: null }, { textContent: '.b{}' }])).toBe('.a{}\n\n.b{}');
  });
});
