/** OCI image config (the parts berth reads), as in image-spec config.md. */
export interface ImageConfig {
  architecture: string;
  os: string;
  created?: string;
  author?: string;
  config?: {
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, object>;
    Labels?: Record<string, string>;
    /** docker's STOPSIGNAL: what `stop` sends (a name like SIGQUIT or a number). */
    StopSignal?: string;
    /** HEALTHCHECK (durations in nanoseconds) and SHELL, which its CMD-SHELL form runs through. */
    Healthcheck?: import('../runtime/health/options').ImageHealthcheck;
    Shell?: string[] | null;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: Array<{ created?: string; created_by?: string; author?: string; comment?: string; empty_layer?: boolean }>;
}

/** One image in the store. */
export interface ImageRecord {
  /** sha256:<hex> digest of the config blob: the image ID. */
  id: string;
  /** Fully qualified references pointing at this image, e.g. "docker.io/library/busybox:latest". */
  names: string[];
  /** sha256 digest of the manifest blob. */
  manifestDigest: string;
  /**
   * Where the image was pulled from, as docker's RepoDigests: "127.0.0.1:5000/busybox@sha256:...", the
   * digest being the index's for a multi-platform image. `repo@digest` references find the image by these.
   */
  repoDigests?: string[];
  config: ImageConfig;
  /** Chain IDs of the layers, bottom first (OCI image-spec chain ID). */
  chainIds: string[];
  /** Bytes of unpacked layer content. */
  size: number;
  created: string;
}

/** `berth image inspect`: an image record with its layers spelled out. */
export interface ImageInspect {
  id: string;
  names: string[];
  repoDigests: string[];
  manifestDigest: string;
  created: string;
  /** Bytes of unpacked layer content. */
  size: number;
  config: ImageConfig;
  /** Bottom first: the uncompressed diff ID, the chain ID naming the unpacked layer, and the stored blob. */
  layers: Array<{ diffId: string; chainId: string; digest: string; mediaType: string; size: number }>;
}

/** What `berth load` added: one entry per image of the archive. */
export interface LoadResult {
  images: Array<{ id: string; names: string[] }>;
}

/** What `berth image prune` removed. */
export interface PruneResult {
  /** Image IDs. */
  images: string[];
  /** Chain IDs of unpacked layers. */
  layers: string[];
  /** Blob digests. */
  blobs: string[];
  /** Bytes freed on disk (blobs and unpacked layer content). */
  reclaimed: number;
}
