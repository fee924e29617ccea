/** The namespace modes config.json records (see namespace-options.ts, which makes them). */

/** A `container:ID` mode once create resolved the name. */
export type JoinedMode = `container:${string}`;

/** Only what differs from a namespace of the container's own. */
export interface NamespaceModes {
  pid?: 'host' | JoinedMode;
  ipc?: 'host' | 'shareable' | JoinedMode;
  uts?: 'host';
  cgroup?: 'host';
}
