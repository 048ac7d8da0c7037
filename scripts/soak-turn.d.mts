// Types of scripts/soak-turn.mjs (the soak's browser turn and stream checks), for the specs.
export declare const ABORT_POINTS: readonly ['head', 'step1', 'gap', 'phase2']

export interface StreamMismatch {
  /** Stored chunks the browser never got. */
  lost: number
  /** Chunks the browser got more often than they were stored. */
  duplicated: number
  /** Same chunks, another order. */
  reordered: boolean
}

/** Compares the browser's data chunks with session.out's (JSON texts), in order. */
export declare function compareStreams(browser: unknown[], stored: string[]): StreamMismatch
