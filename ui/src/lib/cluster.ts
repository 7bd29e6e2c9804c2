// The words the title bar uses for the cluster the app talks to. Every state has text, so the
// pill never relies on its colour to say whether the cluster is usable.

import type { ClusterStatus } from './bindings/ClusterStatus';

export type ClusterTone = 'idle' | 'ready' | 'problem';

export interface ClusterPill {
  /** The pill's first words, naming what the value is about (`Cluster:`). */
  lead: string;
  /** The state, the context name or the reason it is unavailable. */
  value: string;
  /** A longer explanation for the tooltip and screen readers. */
  detail: string;
  tone: ClusterTone;
}

export function clusterPill(status: ClusterStatus | null): ClusterPill {
  if (status === null) {
    return {
      lead: 'Cluster:',
      value: 'unknown',
      detail: 'KubeQuest could not ask the app about the cluster.',
      tone: 'problem',
    };
  }
  switch (status.state) {
    case 'notStarted':
      return {
        lead: 'Cluster:',
        value: 'not started',
        detail: 'KubeQuest has not started its embedded cluster yet.',
        tone: 'idle',
      };
    case 'ready':
      return {
        lead: 'Cluster:',
        value: status.context,
        detail: `Cluster ready: context ${status.context} at ${status.server}`,
        tone: 'ready',
      };
    case 'unavailable':
      return {
        lead: 'Cluster unavailable:',
        value: status.message,
        detail: `Cluster unavailable: ${status.message}`,
        tone: 'problem',
      };
  }
}

/** The pill's whole text, as a learner reads it. */
export const pillText = (pill: ClusterPill): string => `${pill.lead} ${pill.value}`;
