import { describe, expect, it } from 'vitest';
import { linkAction } from './links';

const base = 'tauri://localhost/index.html';

describe('lesson links', () => {
  it('opens web links in the system browser', () => {
    expect(linkAction('https://kubernetes.io/docs/', base)).toEqual({ kind: 'open', url: 'https://kubernetes.io/docs/' });
    expect(linkAction('http://example.com/a?b=1#c', base)).toEqual({ kind: 'open', url: 'http://example.com/a?b=1#c' });
  });

  it('never follows any other link, so the window cannot be navigated away', () => {
    for (const href of [
      'javascript:alert(1)',
      'file:///etc/passwd',
      'data:text/html,hi',
      'tauri://localhost/other',
      '/relative/page',
      '#section',
      'mailto:a@example.com',
      '',
      null,
    ]) {
      expect(linkAction(href, base), `a link to ${String(href)} must do nothing`).toEqual({ kind: 'ignore' });
    }
  });

  it('does not hand the app’s own pages to the browser', () => {
    expect(linkAction('http://127.0.0.1:4000/x', 'http://127.0.0.1:4000/')).toEqual({ kind: 'ignore' });
  });
});
