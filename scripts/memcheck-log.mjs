// Reads one valgrind memcheck log (scripts/memcheck.mjs) and keeps what concerns the addon: a
// block whose stack has a frame in Rust code (a `.rs` source line: Node itself has none) or in the
// addon's file. Node's own reports (V8's GC reads uninitialised words by design) are left out.

/** valgrind's line prefix `==PID== `. */
const PREFIX = /^==\d+== ?/

/** Where the addon's one-off registration allocates (kept for the process's life, by design). */
const AT_LOAD = /napi_register_module_v1|module_register|__napi_register__|register_classes/

const isAddonFrame = (line) => /\.rs:\d+\)/.test(line) || /chat[-_]headstart/.test(line)

/**
 * `{ errors, leaks, possiblyLost, atLoad, summary }`: the addon's error blocks, its definite and
 * indirect leaks and its possible ones (neither counting `atLoad`, the module registration's), and
 * valgrind's HEAP SUMMARY (allocations made and freed) and LEAK SUMMARY figures for the whole process.
 */
export function addonReport(log) {
  const blocks = []
  let current = []
  for (const raw of log.split('\n')) {
    if (!PREFIX.test(raw)) continue
    const line = raw.replace(PREFIX, '')
    if (line.trim() === '') {
      if (current.length > 0) blocks.push(current)
      current = []
    } else current.push(line)
  }
  if (current.length > 0) blocks.push(current)

  const report = { errors: [], leaks: [], possiblyLost: [], atLoad: [], summary: {} }
  for (const block of blocks) {
    const head = block[0]
    const usage = /total heap usage: ([\d,]+) allocs, ([\d,]+) frees, ([\d,]+) bytes allocated/.exec(block.join('\n'))
    if (head.startsWith('HEAP SUMMARY:') && usage) {
      const [allocs, frees, bytes] = usage.slice(1).map((n) => Number(n.replaceAll(',', '')))
      report.summary['heap usage'] = { allocs, frees, bytes }
      continue
    }
    if (head.startsWith('LEAK SUMMARY:')) {
      for (const line of block.slice(1)) {
        const m = /^\s*(definitely lost|indirectly lost|possibly lost|still reachable): ([\d,]+) bytes in ([\d,]+) blocks/.exec(line)
        if (m) report.summary[m[1]] = { bytes: Number(m[2].replaceAll(',', '')), blocks: Number(m[3].replaceAll(',', '')) }
      }
      continue
    }
    if (!block.slice(1).some(isAddonFrame)) continue
    const text = block.join('\n')
    const leak = /are (definitely|indirectly|possibly) lost in loss record/.exec(head)
    if (!leak) {
      if (/^\s*(at|by) 0x/.test(block[1] ?? '')) report.errors.push(text)
    } else if (AT_LOAD.test(text)) report.atLoad.push(text)
    else if (leak[1] === 'possibly') report.possiblyLost.push(text)
    else report.leaks.push(text)
  }
  return report
}
