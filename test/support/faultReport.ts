/**
 * One line per fault run, in one format, so a CI log (or `npm run test:faults`) records what each
 * fault test checked: how long the system took to recover and the counts behind the invariants.
 * `grep '^\[fault\]'` over a run's output gives the table the closing notes quote.
 */
export interface FaultRun {
  /** Short name of the fault, e.g. "redis restart during chat". */
  fault: string;
  /** From injecting (or healing) the fault until the first acknowledged operation after it. */
  recoveryMs: number;
  /** Operations acknowledged to clients during the run. */
  acked: number;
  /** Acknowledged operations missing afterwards (the invariant: 0). */
  lost: number;
  /** Acknowledged operations present more than once (the invariant: 0). */
  duplicated: number;
  /** Anything else counted (coded errors seen, reconnects, …). */
  extra?: Record<string, number | string>;
}

export function reportFault(run: FaultRun): void {
  const extra = Object.entries(run.extra ?? {})
    .map(([k, v]) => `, ${k} ${v}`)
    .join("");
  console.info(
    `[fault] ${run.fault}: recovery ${Math.round(run.recoveryMs)} ms, acked ${run.acked}, lost ${run.lost}, duplicated ${run.duplicated}${extra}`,
  );
}
