// The terminal beside the mission (components/Terminal.svelte): what its keys do, its colours
// for the light and dark themes, how pastes are cut for the IPC and how drawn output is
// acknowledged to the shell's side, and how xterm.js's own styles reach the page under the
// window's strict Content-Security-Policy.

import type { ITheme } from '@xterm/xterm';

/** How many lines the terminal keeps above the screen. */
export const SCROLLBACK = 5000;

/** The largest piece of input sent at once: 16384 UTF-16 units are at most 48 KiB of UTF-8,
 * under the 64 KiB the isolation rule and the shell's side accept. */
export const INPUT_PIECE = 16384;

/** What a key press in the terminal does. */
export type KeyAction =
  /** Copy the selection (Ctrl+Shift+C). */
  | 'copy'
  /** Paste the clipboard (Ctrl+Shift+V). */
  | 'paste'
  /** Leave the terminal: focus goes back to the page (Esc at the prompt; Ctrl+` always). */
  | 'leave'
  /** The shell (or the program it runs) gets the key. */
  | 'shell';

type Key = Pick<KeyboardEvent, 'type' | 'key' | 'code' | 'ctrlKey' | 'shiftKey' | 'altKey' | 'metaKey'>;

/** Ctrl+` (the key left of 1): opens or focuses the terminal, and leaves it when it has focus. */
export function isTerminalShortcut(e: Key): boolean {
  return e.ctrlKey && !e.altKey && !e.metaKey && !e.shiftKey && (e.code === 'Backquote' || e.key === '`');
}

/**
 * What a key does. `fullScreen` says a full-screen program (vi from `kubectl edit`, less) runs:
 * it needs Esc, so only Ctrl+` leaves then. At the prompt Esc leaves, so the keyboard never
 * stays trapped in the terminal (Tab is the shell's: completion).
 */
export function keyAction(e: Key, fullScreen: boolean): KeyAction {
  if (e.type !== 'keydown') return 'shell';
  if (isTerminalShortcut(e)) return 'leave';
  if (e.ctrlKey && e.shiftKey && !e.altKey && !e.metaKey) {
    if (e.code === 'KeyC' || e.key === 'C' || e.key === 'c') return 'copy';
    if (e.code === 'KeyV' || e.key === 'V' || e.key === 'v') return 'paste';
  }
  if (e.key === 'Escape' && !fullScreen && !e.ctrlKey && !e.altKey && !e.shiftKey && !e.metaKey) return 'leave';
  return 'shell';
}

/** Cuts `data` into pieces of at most `max` UTF-16 units, never inside a surrogate pair. */
export function inputPieces(data: string, max: number = INPUT_PIECE): string[] {
  if (max < 2) throw new Error('a piece must hold a surrogate pair');
  const pieces: string[] = [];
  let start = 0;
  while (start < data.length) {
    let end = Math.min(start + max, data.length);
    const last = data.charCodeAt(end - 1);
    // A high surrogate at the cut: keep it with its low half.
    if (end < data.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    pieces.push(data.slice(start, end));
    start = end;
  }
  return pieces;
}

/**
 * Acknowledges drawn output to the shell's side in batches: at once past `threshold` bytes,
 * else after `delayMs`. The shell's side lets 512 KiB go unacknowledged before its output
 * waits, so batches well under that never stall it.
 */
export class Acknowledger {
  private pending = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly send: (bytes: number) => void,
    private readonly threshold = 32 * 1024,
    private readonly delayMs = 50,
  ) {}

  drawn(bytes: number): void {
    this.pending += bytes;
    if (this.pending >= this.threshold) {
      this.flush();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.delayMs);
    }
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending > 0) {
      const bytes = this.pending;
      this.pending = 0;
      this.send(bytes);
    }
  }

  /** Stops without sending (the terminal closed). */
  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = 0;
  }
}

/** Whether the page shows the dark theme: chosen in Settings, or the system's unless Light was. */
export function isDark(chosen: string | undefined, systemDark: boolean): boolean {
  if (chosen === 'dark') return true;
  if (chosen === 'light') return false;
  return systemDark;
}

const HEX = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

// ANSI colours that read on each theme's terminal background (contrast ≥ 4.5 for the normal
// colours the shell and kubectl use), in the app's accent and status hues.
const LIGHT: ITheme = {
  black: '#1f2430',
  red: '#b3262d',
  green: '#11703f',
  yellow: '#8a5300',
  blue: '#2456c4',
  magenta: '#8e3aa8',
  cyan: '#0e6b78',
  white: '#5b6575',
  brightBlack: '#556070',
  brightRed: '#c0343a',
  brightGreen: '#13804f',
  brightYellow: '#a15c07',
  brightBlue: '#326ce5',
  brightMagenta: '#a347c2',
  brightCyan: '#127d8c',
  brightWhite: '#131926',
};

const DARK: ITheme = {
  black: '#3a4250',
  red: '#f0777b',
  green: '#4cc38a',
  yellow: '#e6a23c',
  blue: '#7aa3f4',
  magenta: '#d08ae6',
  cyan: '#5cc6d0',
  white: '#c9d0db',
  brightBlack: '#8390a2',
  brightRed: '#ff9a9d',
  brightGreen: '#6fd8a3',
  brightYellow: '#f3bd67',
  brightBlue: '#9dbcf8',
  brightMagenta: '#e2a9f2',
  brightCyan: '#85dbe2',
  brightWhite: '#f4f6fa',
};

/**
 * The terminal's colours: its background, text, cursor and selection from the page's theme
 * variables (`read` answers `getComputedStyle(root).getPropertyValue`), ANSI colours for that
 * theme. A variable that is not a plain hex colour falls back to the theme's own value.
 */
export function terminalTheme(dark: boolean, read: (name: string) => string): ITheme {
  const pick = (name: string, fallback: string) => {
    const value = read(name).trim();
    return HEX.test(value) ? value : fallback;
  };
  const background = pick('--surface-sunken', dark ? '#10141a' : '#eef0f4');
  const foreground = pick('--text', dark ? '#e7ebf2' : '#131926');
  const accent = pick('--accent', dark ? '#5b8def' : '#326ce5');
  return {
    ...(dark ? DARK : LIGHT),
    background,
    foreground,
    cursor: accent,
    cursorAccent: background,
    selectionBackground: dark ? 'rgba(91, 141, 239, 0.35)' : 'rgba(50, 108, 229, 0.25)',
    selectionInactiveBackground: dark ? 'rgba(91, 141, 239, 0.2)' : 'rgba(50, 108, 229, 0.14)',
  };
}

/** The text of every `<style>` element under `root`, in document order. */
export function styleText(styles: Iterable<{ textContent: string | null }>): string {
  return [...styles].map((s) => s.textContent ?? '').join('\n');
}

/**
 * xterm.js writes its measured sizes and colours into `<style>` elements, which the window's
 * CSP (`style-src 'self'`, no inline styles) does not apply. This mirrors their text into a
 * constructed stylesheet adopted by the document, which the CSP allows, and keeps it in step
 * as xterm.js rewrites them. Returns the function that stops it and removes the sheet.
 */
export function mirrorStyles(root: HTMLElement, doc: Document = document): () => void {
  if (typeof CSSStyleSheet === 'undefined' || !('adoptedStyleSheets' in doc)) return () => {};
  const sheet = new CSSStyleSheet();
  doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
  let last = '';
  const sync = () => {
    const text = styleText(root.querySelectorAll('style'));
    if (text === last) return;
    last = text;
    sheet.replaceSync(text);
  };
  sync();
  const observer = new MutationObserver(sync);
  observer.observe(root, { subtree: true, childList: true, characterData: true });
  return () => {
    observer.disconnect();
    doc.adoptedStyleSheets = doc.adoptedStyleSheets.filter((s) => s !== sheet);
  };
}
