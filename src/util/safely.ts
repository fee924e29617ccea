/** fn's result, or undefined if it threw: for cleanup steps whose failure must not hide the error
 *  being reported (what they leave is repaired by the next command). */
export function safely<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
