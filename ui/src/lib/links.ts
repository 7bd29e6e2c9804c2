// Links in lesson Markdown (briefing, hints, debrief) must never navigate the KubeQuest window:
// a followed link would replace the app with a web page. One listener on the document catches
// every click on a link; web links (http/https) go to the system browser through the Rust side
// (which checks them again), and anything else does nothing. The app's own controls are buttons,
// never links, so nothing of the app is affected.

/** What a click on a link with this `href` does. */
export type LinkAction = { kind: 'open'; url: string } | { kind: 'ignore' };

/** Web links open in the system browser; every other link (file:, javascript:, #…) is ignored. */
export function linkAction(href: string | null, base: string): LinkAction {
  if (!href) return { kind: 'ignore' };
  let url: URL;
  try {
    url = new URL(href, base);
  } catch {
    return { kind: 'ignore' };
  }
  if ((url.protocol === 'http:' || url.protocol === 'https:') && url.host !== '' && new URL(base).origin !== url.origin) {
    return { kind: 'open', url: url.href };
  }
  return { kind: 'ignore' };
}

interface LinkEventTarget {
  addEventListener(type: string, listener: (event: Event) => void, capture: boolean): void;
  removeEventListener(type: string, listener: (event: Event) => void, capture: boolean): void;
}

/** The nearest `<a href>` the event went through, if any. */
function linkOf(event: Event): Element | null {
  for (const node of event.composedPath()) {
    if (typeof Element !== 'undefined' && node instanceof Element && node.localName === 'a' && node.hasAttribute('href')) {
      return node;
    }
  }
  return null;
}

/**
 * Stops every link from navigating the window (clicks, middle clicks) and opens web links with
 * `open`. Returns a function that removes the guard.
 */
export function guardLinks(target: LinkEventTarget, base: () => string, open: (url: string) => void): () => void {
  const onClick = (event: Event) => {
    const link = linkOf(event);
    if (!link) return;
    event.preventDefault();
    if (event.type !== 'click') return;
    const action = linkAction(link.getAttribute('href'), base());
    if (action.kind === 'open') open(action.url);
  };
  // Capture phase, so no handler inside the page can let a link through first.
  target.addEventListener('click', onClick, true);
  target.addEventListener('auxclick', onClick, true);
  return () => {
    target.removeEventListener('click', onClick, true);
    target.removeEventListener('auxclick', onClick, true);
  };
}
