// What the mission screen says about its connection to the cluster: nothing while connected,
// a calm banner with the attempt and a countdown while reconnecting, and for a lost connection
// what happened and what to do next, by the failure's kind (never by its message text).

import type { ConnectErrorKind } from './bindings/ConnectErrorKind';
import type { ConnectionState } from './bindings/ConnectionState';
import { countdown } from './kubetime';

export interface ConnectionCopy {
  tone: 'warn' | 'problem';
  title: string;
  detail: string;
  nextStep: string | null;
}

const NEXT_STEP: Record<ConnectErrorKind, string> = {
  'kubeconfig-unreadable': 'Check that the kubeconfig file exists and can be read, or choose the embedded cluster in Settings.',
  'unknown-context': 'The context is no longer in your kubeconfig. Choose another cluster in Settings.',
  unreachable: 'Start the cluster (or check the network), then start the mission again. The embedded cluster in Settings always works offline.',
  'tls-rejected': 'The cluster’s certificate was refused. Check the kubeconfig’s certificate data, or use the embedded cluster.',
  unauthorized: 'Your credentials were refused. Log in again (refresh the kubeconfig), then start the mission again.',
  forbidden: 'Your user may not create what the mission needs. Ask the cluster’s owner, or use the embedded cluster.',
  'version-skew': 'This cluster’s Kubernetes version is not supported. Use a newer cluster or the embedded one.',
  'not-local-refused': 'This context points at a remote cluster. Allow it explicitly in Settings, or choose a local one.',
  other: 'Start the mission again. If it keeps failing, choose the embedded cluster in Settings.',
};

export function connectionCopy(state: ConnectionState, now: number): ConnectionCopy | null {
  switch (state.state) {
    case 'connected':
      return null;
    case 'reconnecting': {
      const left = countdown(state.retryAt, now);
      return {
        tone: 'warn',
        title: `Reconnecting to the cluster (attempt ${state.attempt})`,
        detail: left === null || left.due ? `${state.message} — trying now…` : `${state.message} — next try in ${left.text}.`,
        nextStep: null,
      };
    }
    case 'lost':
      return {
        tone: 'problem',
        title: 'The connection to the cluster is lost',
        detail: state.failure.message,
        nextStep: NEXT_STEP[state.failure.kind] ?? NEXT_STEP.other,
      };
  }
}
