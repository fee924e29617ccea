/** The OCI layer format's names for deletions, which aufs branches use on disk too. */

/** `.wh.NAME` in a layer deletes NAME of the layers below. */
export const WHITEOUT_PREFIX = '.wh.';
/** In a directory of a layer: the directory hides everything the layers below have in it. */
export const OPAQUE_MARKER = '.wh..wh..opq';
/** aufs' own bookkeeping in a writable branch (.wh..wh.plnk, .wh..wh.aufs, .wh..wh.orph): never image content. */
export const AUFS_META = '.wh..wh.';
