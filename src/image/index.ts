/** The image store's public surface, for src/index.ts and the CLI. */
export { ImageStore, type ImageStoreOptions, type ImportOptions, type RemoveOptions, type RemoveResult } from './store';
export { flockStoreLock, type StoreLock } from './store-lock';
export { parseReference, normalize, familiar, formatReference, type ImageReference } from './reference';
export { unpackLayer, type UnpackResult } from './unpack';
export { ociArchitecture } from './oci';
export type { ImageConfig, ImageRecord } from './types';
export type { LayerRecord } from './layers';
export type { PullOptions, PullResult, PullEvent, LayerStatus } from './pull';
export type { Credentials } from './registry/auth';
export { RegistryError, type RegistryFailure } from './registry/errors';
