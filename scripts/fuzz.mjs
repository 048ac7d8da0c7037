#!/usr/bin/env node
// `npm run fuzz -- --seconds N [--runs N] [--no-build] [target…]`: builds every libFuzzer target
// in fuzz/ and runs each (all, or the named ones) for N seconds, one after the other, then prints
// one line per target with its executions and a closing JSON object. Works on the stable
// toolchain: libfuzzer-sys only needs the sancov instrumentation passes, which stable rustc has
// (what `cargo fuzz` adds on top is AddressSanitizer, which needs nightly; the fuzzed code is
// safe Rust). Overflow checks and debug assertions stay on, so arithmetic bugs panic.
//
// Each target reads the committed seeds (fuzz/seeds/<target>) and grows its own working corpus
// (fuzz/corpus/<target>, not committed). A crash leaves its input in fuzz/artifacts/<target>/
// and makes the script exit 1. Run long sessions with `nice -n 19` on a shared machine.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const fuzzDir = join(root, 'fuzz')

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '60' },
    runs: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
})
if (values.help) {
  console.log('usage: npm run fuzz -- [--seconds N] [--runs N] [--no-build] [target…]')
  console.log(`targets: ${allTargets().join(', ')}`)
  process.exit(0)
}
const seconds = positiveInt('--seconds', values.seconds)
const runs = values.runs === undefined ? undefined : positiveInt('--runs', values.runs)

function positiveInt(flag, text) {
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n <= 0) {
    console.error(`${flag} must be a positive integer, got ${JSON.stringify(text)}`)
    process.exit(2)
  }
  return n
}

/** The `[[bin]]` names of fuzz/Cargo.toml. */
function allTargets() {
  const manifest = readFileSync(join(fuzzDir, 'Cargo.toml'), 'utf8')
  return [...manifest.matchAll(/\[\[bin\]\]\s*\nname\s*=\s*"([^"]+)"/g)].map((m) => m[1])
}

const known = allTargets()
const unknown = positionals.filter((t) => !known.includes(t))
if (unknown.length > 0) {
  console.error(`unknown fuzz target(s): ${unknown.join(', ')} (known: ${known.join(', ')})`)
  process.exit(2)
}
const targets = positionals.length > 0 ? positionals : known

const host = /^host: (\S+)$/m.exec(spawnSync('rustc', ['-vV'], { encoding: 'utf8' }).stdout)?.[1]
if (!host) {
  console.error('rustc -vV printed no host triple (is Rust on PATH?)')
  process.exit(2)
}
const binDir = join(fuzzDir, 'target', host, 'release')

if (!values['no-build']) {
  // `--target` keeps the instrumentation off build scripts and proc macros (they run on the host
  // and would not link against libFuzzer's runtime).
  const rustflags = [
    '-Cpasses=sancov-module',
    '-Cllvm-args=-sanitizer-coverage-level=4',
    '-Cllvm-args=-sanitizer-coverage-inline-8bit-counters',
    '-Cllvm-args=-sanitizer-coverage-pc-table',
    '-Cllvm-args=-sanitizer-coverage-trace-compares',
    '--cfg=fuzzing',
    '-Cdebug-assertions',
    '-Coverflow-checks',
  ].join(' ')
  const build = spawnSync('cargo', ['build', '--release', '--target', host, '--bins'], {
    cwd: fuzzDir,
    stdio: 'inherit',
    env: { ...process.env, RUSTFLAGS: rustflags, CARGO_TARGET_DIR: join(fuzzDir, 'target') },
  })
  if (build.status !== 0) process.exit(build.status ?? 1)
}

/** Runs one target; resolves with its executions, time and whether it crashed. */
function runTarget(target) {
  const corpus = join(fuzzDir, 'corpus', target)
  const seeds = join(fuzzDir, 'seeds', target)
  const artifacts = join(fuzzDir, 'artifacts', target)
  mkdirSync(corpus, { recursive: true })
  mkdirSync(artifacts, { recursive: true })
  const args = [
    `-max_total_time=${seconds}`,
    '-timeout=10',
    '-print_final_stats=1',
    `-artifact_prefix=${artifacts}/`,
    ...(runs === undefined ? [] : [`-runs=${runs}`]),
    corpus,
    ...(existsSync(seeds) ? [seeds] : []),
  ]
  return new Promise((resolve) => {
    const child = spawn(join(binDir, target), args, { cwd: root, stdio: ['ignore', 'inherit', 'pipe'] })
    let tail = ''
    child.stderr.on('data', (chunk) => {
      tail = (tail + chunk.toString()).slice(-64 * 1024)
    })
    child.on('close', (code, signal) => {
      const execs = Number(/stat::number_of_executed_units:\s*(\d+)/.exec(tail)?.[1] ?? NaN)
      const done = /Done (\d+) runs in (\d+) second/.exec(tail)
      const crashed = code !== 0 || done === null
      if (crashed) process.stderr.write(`--- ${target} (exit ${code ?? signal}) ---\n${tail.slice(-8000)}\n`)
      resolve({
        target,
        execs: Number.isNaN(execs) ? Number(done?.[1] ?? 0) : execs,
        seconds: Number(done?.[2] ?? NaN),
        crashed,
      })
    })
  })
}

const results = []
for (const target of targets) {
  const result = await runTarget(target)
  results.push(result)
  const rate = result.seconds > 0 ? Math.round(result.execs / result.seconds) : result.execs
  console.log(
    `${target.padEnd(16)} ${String(result.execs).padStart(12)} execs in ${result.seconds}s (${rate}/s)` +
      (result.crashed ? `  CRASH (see fuzz/artifacts/${target}/)` : ''),
  )
}
console.log(JSON.stringify({ secondsPerTarget: seconds, targets: results }))
process.exit(results.some((r) => r.crashed) ? 1 : 0)
