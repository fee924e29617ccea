/** OCI image config (the parts berth reads), as in image-spec config.md. */
export interface ImageConfig {
  architecture: string;
  os: string;
  created?: string;
  config?: {
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, object>;
    Labels?: Record<string, string>;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: Array<{ created?: string; created_by?: string; comment?: string; empty_layer?: boolean }>;
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
