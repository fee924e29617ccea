// Kept for src/network and src/image, which import processStartTime from here: /proc is read in
// src/util/proc.ts alone. Import from there; this file goes once nothing imports it.
export { processStartTime } from '../util/proc';
