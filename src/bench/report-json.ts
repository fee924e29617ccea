/** `berth bench --json FILE`: the whole result, every row's summary and raw samples (ms). */
import * as fs from 'node:fs';
import type { BenchResult } from './run';

export function jsonReport(result: BenchResult): string {
  return JSON.stringify({ unit: 'ms', ...result }, null, 2) + '\n';
}

export function writeJsonReport(file: string, result: BenchResult): void {
  fs.writeFileSync(file, jsonReport(result));
}
