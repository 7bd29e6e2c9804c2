// Copying for the kubectl bridge. The clipboard can be refused (no permission, no focus, an
// old web view), so every copy reports what happened and the caller can say so.

export type CopyOutcome = 'copied' | 'denied';

export async function copyText(text: string, clipboard: Pick<Clipboard, 'writeText'> | undefined = globalThis.navigator?.clipboard): Promise<CopyOutcome> {
  if (!clipboard) return 'denied';
  try {
    await clipboard.writeText(text);
    return 'copied';
  } catch {
    return 'denied';
  }
}
