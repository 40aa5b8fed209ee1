/**
 * Request and stream timeouts from a measured prefill speed: a full-context first turn must not
 * time out (Aider would retry the whole prompt). Twice the time a whole context takes to prefill
 * at the measured speed, never below the plan's timeout (600 s unless set with --request-timeout).
 */

/** Seconds: max(floor, ⌈2 × context / prefill tok/s⌉); the floor alone without a measurement. */
export function timeoutFromPrefill(context: number, prefillTokPerSec: number | undefined, floorSec: number): number {
  if (prefillTokPerSec === undefined || !Number.isFinite(prefillTokPerSec) || prefillTokPerSec <= 0) return floorSec;
  return Math.max(floorSec, Math.ceil((2 * context) / prefillTokPerSec));
}
