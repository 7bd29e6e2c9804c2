// The diagnoses' gates reach every card that shows a diagnosis (the pod rails of the Pods view
// and of the graph's details, the workload cards) through one Svelte context that the mission
// screen provides, so the components in between need not pass them along.

import { getContext, setContext } from 'svelte';
import type { DiagnosisGate } from './bindings/DiagnosisGate';

const GATES = Symbol('diagnosis-gates');

/** Called by the mission screen: `read` answers the gates of the state on screen. */
export function provideGates(read: () => DiagnosisGate[]): void {
  setContext(GATES, read);
}

/** The gates on screen; none outside a mission screen (every explanation then stays hidden). */
export function readGates(): () => DiagnosisGate[] {
  return getContext<(() => DiagnosisGate[]) | undefined>(GATES) ?? (() => []);
}
