import type { ResourceLimits } from './limits';
import type { StorageDriverName } from './rootfs';

export interface VolumeSpec {
  hostPath: string;
  containerPath: string;
  readonly: boolean;
}

/** Everything needed to start a container, fixed at create time. Stored as config.json. */
export interface ContainerConfig {
  id: string;
  name: string;
  /** The reference the user gave, and the image ID it resolved to. */
  image: string;
  imageId: string;
  created: string;
  argv: string[];
  env: string[];
  workdir: string;
  uid: number;
  gid: number;
  groups: number[];
  hostname: string;
  tty: boolean;
  interactive: boolean;
  autoRemove: boolean;
  volumes: VolumeSpec[];
  limits: ResourceLimits;
  storageDriver: StorageDriverName;
  /** Image layer directories, top first. */
  layers: string[];
}

export type ContainerStatus = 'created' | 'running' | 'exited';

/** What changes while a container lives. Stored as state.json, written atomically. */
export interface ContainerState {
  status: ContainerStatus;
  pid?: number;
  /** Start time of pid (clock ticks since boot), so a reused PID is never taken for the container. */
  pidStartTime?: number;
  exitCode?: number;
  oomKilled?: boolean;
  startedAt?: string;
  finishedAt?: string;
  /** Why the container stopped, when berth knows more than the exit code. */
  error?: string;
}

export interface ContainerInfo {
  config: ContainerConfig;
  state: ContainerState;
}
