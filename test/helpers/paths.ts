import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Absolute path of the repository root (this file lives in test/helpers/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Scratch space for tests: fixture builds, vitest's JSON report. Gitignored. */
export const WORK_DIR = path.join(REPO_ROOT, 'test', '.work');
