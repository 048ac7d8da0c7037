// Reads ava's default reporter output (8.0.0) into counts. Its TAP reporter crashes on a timeout
// and loses the counts, so the scripts run the default reporter and read it here.

/** `{ passed, failed }` of one ava run's output. */
export function avaCounts(output) {
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '')
  const count = (re) => [...plain.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0)
  // ava prints `N tests passed` only when nothing failed; otherwise its ✔ lines are the count.
  const passed = Math.max(count(/^\s*(\d+) tests? passed/gm), plain.match(/^\s*✔ /gm)?.length ?? 0)
  // Failures, plus whatever ava reports as broken without a failed test (timeouts, crashes, rejections).
  const failed =
    count(/^\s*(\d+) tests? failed/gm) +
    count(/^\s*(\d+) uncaught exceptions?/gm) +
    count(/^\s*(\d+) unhandled rejections?/gm) +
    count(/^\s*(\d+) tests? remained pending after a timeout/gm)
  return { passed, failed }
}
