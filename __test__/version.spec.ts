import test from 'ava'
import { readFileSync } from 'node:fs'
import { nativeVersion } from '../index.js'

test('the native core loads and matches package.json', (t) => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  t.is(nativeVersion(), pkg.version)
})
