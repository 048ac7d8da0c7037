#!/usr/bin/env node
// `npm run miri [-- <test filter>]`: the core's unit tests under Miri (undefined behaviour in what
// they run, dependencies included). Needs the nightly toolchain with the miri component
// (`rustup toolchain install nightly --component miri`). Isolation is off because the tests read
// the wall clock (log timestamps) and the OS's randomness (ids). Property tests run 8 cases each
// (PROPTEST_CASES; Miri is ~1000× slower than native code, and the point here is undefined
// behaviour on the paths they take, not their coverage, which the native runs give).
import { spawnSync } from 'node:child_process'

const probe = spawnSync('cargo', ['+nightly', 'miri', '--version'], { encoding: 'utf8' })
if (probe.status !== 0) {
  console.error('Miri is not installed: rustup toolchain install nightly --component miri')
  process.exit(2)
}
const run = spawnSync('cargo', ['+nightly', 'miri', 'test', '-p', 'chat-headstart-core', '--lib', '--', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, PROPTEST_CASES: process.env.PROPTEST_CASES ?? '8', MIRIFLAGS: [process.env.MIRIFLAGS, '-Zmiri-disable-isolation'].filter(Boolean).join(' ') },
})
process.exit(run.status ?? 1)
