/** The shape of a row: what is planned (and measured), and what every report gets. */
import type { Budget } from './measure';
import type { Summary } from './stats';

export type RowGroup = 'floor' | 'mount' | 'start' | 'runtime';

export interface RowPlan {
  readonly name: string;
  readonly group: RowGroup;
  /** Why the row cannot run on this host (not installed, no kernel support): reported, not measured. */
  readonly skip?: string;
  /** Milliseconds per run, warm-up runs left out. */
  measure(budget: Budget): Promise<number[]> | number[];
}

export interface RowResult {
  readonly name: string;
  readonly group: RowGroup;
  /** Milliseconds, in the order measured. Empty when the row failed or was skipped. */
  readonly samples: number[];
  readonly summary?: Summary;
  /** Why there are no samples. */
  readonly error?: string;
  readonly skipped?: boolean;
  /** This row's median over the floor's, crun's and runc's (where those rows have samples). */
  ratios: { floor?: number; crun?: number; runc?: number };
}

/** The rows whose medians the others are compared with. */
export const FLOOR_ROW = 'floor: clone+overlay+pivot_root+execve+wait';
export const runtimeRowName = (runtime: string): string => `${runtime} run (OCI bundle)`;
