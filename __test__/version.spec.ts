import test from 'ava'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { nativeVersion } from 'chat-headstart'
import { isRepoCheckout, packageUrl, privateModule } from './package.helpers.ts'

const { native } = await privateModule<typeof import('../lib/native.js')>('lib/native.js')
const glibc =
  process.platform === 'linux' && Boolean((process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime)

/** The exports of the `testing` cargo feature (src/binding/testing/): specs and benches only. */
const TESTING_EXPORTS = [
  'allocatorStats',
  'sseCountEvents',
  'wireCreateSessionBody',
  'wireGenerateId',
  'wireHandoverBody',
  'wireParseHeadStartRequest',
  'wireReshapeForHandoverResume',
]

test('the native core loads and matches package.json', (t) => {
  const pkg = JSON.parse(readFileSync(new URL('package.json', packageUrl), 'utf8'))
  t.is(nativeVersion(), pkg.version)
})

test('the testing exports are in the repo build only: an installed release neither has nor declares them', (t) => {
  const types = readFileSync(new URL('binding.d.ts', packageUrl), 'utf8')
  const exports = native as unknown as Record<string, unknown>
  for (const name of TESTING_EXPORTS) {
    t.is(typeof exports[name] === 'function', isRepoCheckout, `${name} in the addon`)
    t.is(new RegExp(`\\b${name}\\b`).test(types), isRepoCheckout, `${name} in binding.d.ts`)
  }
  // The SSE parser's product functions only: no feed variant kept for benches.
  const sse = Object.keys(exports).filter((name) => /^sse/.test(name) && !TESTING_EXPORTS.includes(name))
  t.deepEqual(sse.sort(), ['sseEnd', 'sseFeed', 'sseParserNew', 'sseReset'])
})

test('the addon allocates through mimalloc on linux-gnu, the system allocator elsewhere (shipped build too)', (t) => {
  // mimalloc prints its statistics at exit when MIMALLOC_SHOW_STATS is set: memory committed in its
  // arenas means it is linked, initialised and serving the addon's Rust allocations (loading the
  // addon already allocates: its napi registrations).
  const entry = new URL('index.js', packageUrl).href
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', `(await import(${JSON.stringify(entry)})).nativeVersion()`], {
    env: { ...process.env, MIMALLOC_SHOW_STATS: '1' },
    encoding: 'utf8',
    timeout: 120_000,
  })
  t.is(child.status, 0, child.stderr)
  const committed = /^\s*committed\s*:\s*([\d.]+)/m.exec(child.stderr)
  if (glibc) {
    t.truthy(committed, `no mimalloc statistics on stderr:\n${child.stderr}`)
    t.true(Number(committed![1]) > 0, committed![0])
  } else {
    t.is(committed, null, child.stderr)
  }
})

;(isRepoCheckout ? test : test.skip)('allocatorStats reports what the addon allocator holds (bench/headstart memory split)', (t) => {
  const stats = native.allocatorStats()
  if (glibc) {
    t.is(stats.allocator, 'mimalloc')
    // Loading the addon already allocated (its napi registrations): never zero.
    t.true(stats.committed! > 0)
    t.true(stats.peakCommitted! >= stats.committed!)
  } else {
    t.is(stats.allocator, 'system')
    t.is(stats.committed ?? null, null)
  }
})
