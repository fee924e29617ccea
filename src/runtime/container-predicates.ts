import type { ContainerNetwork } from '../network/types';
import type { ContainerConfig, ContainerState } from './types';

// One name for each question asked of a container in many places, so that a new status (paused,
// say) or a new kind of network is taught to berth in one spot.

/** Its process runs (as recorded; Runtime.resolve repairs a record whose process vanished). */
export function isRunning(state: ContainerState | undefined): state is ContainerState & { status: 'running' } {
  return state?.status === 'running';
}

/** Created and never started, or exited: what start may start and prune may remove. */
export function isStopped(state: ContainerState | undefined): boolean {
  return state?.status === 'exited' || state?.status === 'created';
}

export function hasExited(state: ContainerState | undefined): state is ContainerState & { status: 'exited' } {
  return state?.status === 'exited';
}

/** On CNI bridge networks (the default one, or user networks): it has a sandbox to set up and release. */
export function onCniNetwork(config: ContainerConfig): config is ContainerConfig & { network: ContainerNetwork } {
  return config.network?.mode === 'bridge';
}

/** --network host: the host's network namespace. */
export function onHostNetwork(config: ContainerConfig): boolean {
  return config.network?.mode === 'host';
}
