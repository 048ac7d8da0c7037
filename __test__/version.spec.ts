import test from 'ava'
import { readFileSync } from 'node:fs'
import { nativeVersion } from 'chat-headstart'
import { packageUrl, privateModule } from './package.helpers.ts'

test('the native core loads and matches package.json', (t) => {
  const pkg = JSON.parse(readFileSync(new URL('package.json', packageUrl), 'utf8'))
  t.is(nativeVersion(), pkg.version)
})

test('allocatorStats reports what the addon allocator holds (bench/headstart memory split)', async (t) => {
  const { native } = await privateModule<typeof import('../lib/native.js')>('lib/native.js')
  const stats = native.allocatorStats()
  if (process.platform === 'linux' && (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime) {
    t.is(stats.allocator, 'mimalloc')
    // Loading the addon already allocated (its napi registrations): never zero.
    t.true(stats.committed! > 0)
    t.true(stats.peakCommitted! >= stats.committed!)
  } else {
    t.is(stats.allocator, 'system')
    t.is(stats.committed ?? null, null)
  }
})
