// Release builds of the addon for the targets in package.json `napi.targets`, each into its
// platform package: npm/<platform>/chat-headstart.<platform>.node (platform = napi's
// platformArchABI, e.g. linux-arm64-gnu). `npm run build:targets` runs it.
//
//   node scripts/build-targets.mjs [--target <triple>]... [--profile <cargo profile>] [--glibc <2.xx>] [--no-check]
//
// With no --target it builds every target buildable on this host. On Linux x64 that is all of them
// but x86_64-pc-windows-msvc (cargo-xwin cannot download the MSVC CRT here: the Windows addon is
// built only by the GitHub workflow, .github/workflows/ci.yml, on a windows-latest runner).
//
// It installs what it needs itself:
//   - `rustup target add <triple>` for a target whose standard library is missing;
//   - for a target the host cannot link natively (Linux host: aarch64-linux-gnu, x86_64-linux-musl,
//     both darwin targets), zig + cargo-zigbuild: the ones on PATH when both are there, else
//     ziglang + cargo-zigbuild from PyPI (ZIGBUILD_PIP below) in a venv at .cache/zigbuild, then
//     `napi build -x` (napi runs `cargo zigbuild` for non-Windows targets).
// The host's own target (and on macOS both darwin targets, on Windows the MSVC one) builds
// without -x. napi builds into target/napi-build/<platform>/ (addon, generated loader binding.cjs
// and types binding.d.ts); the addon is copied into its platform package. The script fails when two
// targets generate different loaders (one binding.cjs must fit every platform; it does: napi
// generates it from the exports, not the target), and leaves the root binding.cjs / binding.d.ts
// alone when they equal the generated ones (else refreshes them, as `npm run build` would).
//
// --glibc 2.28 builds the linux-gnu targets with zig against that glibc (napi's versioned target
// `<triple>.2.28`, also for the host's own target) and the check fails when the binary needs a newer
// GLIBC_ symbol version. Without it a native build needs the build machine's glibc (GLIBC_2.34 from
// this Debian 12 host), and zig's default for aarch64 needs GLIBC_2.30; Node 22 and 24 themselves
// run on glibc >= 2.28.
//
// Darwin builds get MACOSX_DEPLOYMENT_TARGET = rustc's default for the target, at least 10.13
// (10.13 x86_64, 11.0 arm64) unless it is set: zig would otherwise record its own minimum (macOS
// 15.0). The check fails a Mach-O whose minimum macOS is newer than that.
//
// After each build scripts/check-binary.mjs checks the binary (format, CPU, libc, exported
// napi_register_module_v1, allocator), and the wall time of each build is printed and merged into
// dist/build-times.json (one entry per target and profile). Exits non-zero on the first failure.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkBinary, CheckError, compareVersions, formatCheck } from './check-binary.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const napiCli = path.join(root, 'node_modules/@napi-rs/cli/dist/cli.js')

/** The lowest MACOSX_DEPLOYMENT_TARGET the script sets by default (see the darwin note in main). */
const MIN_MACOS = '10.13'


/** The exact PyPI versions installed into .cache/zigbuild when zig / cargo-zigbuild are missing. */
export const ZIGBUILD_PIP = ['ziglang==0.17.1', 'cargo-zigbuild==0.24.1']

class UsageError extends Error {}

function fail(message) {
  console.error(`\nbuild-targets: ${message}`)
  process.exit(1)
}

function parseArgs(argv) {
  const opts = { targets: [], profile: null, glibc: null, check: true }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i]
      if (!v || v.startsWith('--')) throw new UsageError(`${a.split('=')[0]} needs a value`)
      return v
    }
    if (a === '--target' || a === '-t' || a.startsWith('--target=')) opts.targets.push(value())
    else if (a === '--profile' || a.startsWith('--profile=')) opts.profile = value()
    else if (a === '--glibc' || a.startsWith('--glibc=')) {
      opts.glibc = value()
      if (!/^2\.\d+$/.test(opts.glibc)) throw new UsageError(`--glibc takes a glibc version like 2.28, not ${opts.glibc}`)
    } else if (a === '--no-check') opts.check = false
    else if (a === '--help' || a === '-h') opts.help = true
    else throw new UsageError(`unknown argument ${a}`)
  }
  return opts
}

/** Runs a command with inherited output; returns its exit status. */
function run(cmd, args, { env = process.env, cwd = root } = {}) {
  console.log(`\n$ ${[cmd, ...args].join(' ')}`)
  const r = spawnSync(cmd, args, { cwd, env, stdio: 'inherit' })
  if (r.error) return { status: 1, error: r.error }
  return { status: r.status ?? 1 }
}

/** Runs a command quietly; returns trimmed stdout, or null when it cannot run or fails. */
function probe(cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  return r.status === 0 ? r.stdout.trim() : null
}

function hostTriple() {
  const out = probe('rustc', ['-vV'])
  const host = out && /^host: (\S+)$/m.exec(out)?.[1]
  if (!host) fail('`rustc -vV` did not run: install Rust (https://rustup.rs) first')
  return host
}

/**
 * How `target` builds on `host`: 'native' (the host's toolchain links it), 'zig' (napi build -x,
 * cargo-zigbuild), or throws UsageError when it cannot be built here.
 */
export function buildMode(target, host, parseTriple, { glibc = null } = {}) {
  const t = parseTriple(target)
  const h = parseTriple(host)
  if (glibc && t.platform === 'linux' && t.abi === 'gnu') return 'zig'
  if (target === host) return 'native'
  // Apple's toolchain links both darwin architectures from either Mac.
  if (t.platform === 'darwin' && h.platform === 'darwin') return 'native'
  if (t.platform === 'win32') {
    if (h.platform === 'win32' && t.abi === 'msvc') return 'native'
    throw new UsageError(
      `${target} is not buildable on this ${host} machine: napi build -x uses cargo-xwin, which cannot download ` +
        `the MSVC CRT and Windows SDK here. The Windows addon is built only in the GitHub workflow ` +
        `(.github/workflows/ci.yml, on a windows-latest runner).`,
    )
  }
  return 'zig'
}

function ensureRustTarget(target) {
  const installed = probe('rustup', ['target', 'list', '--installed'])
  if (installed === null) {
    console.warn(`rustup not found: assuming the standard library for ${target} is installed`)
    return
  }
  if (installed.split('\n').includes(target)) return
  if (run('rustup', ['target', 'add', target]).status !== 0) fail(`rustup target add ${target} failed`)
}

const exe = (name) => (process.platform === 'win32' ? `${name}.exe` : name)

/**
 * An environment whose PATH has cargo-zigbuild and zig (or `python3 -m ziglang`, which cargo-zigbuild
 * also uses): the ones already on PATH when both are there, else a venv at .cache/zigbuild with
 * ZIGBUILD_PIP installed (created on first use).
 */
export function ensureZigbuild(env = process.env) {
  const python = process.platform === 'win32' ? 'python' : 'python3'
  const haveZig = (e) => probe('zig', ['version'], e) ?? probe(python, ['-m', 'ziglang', 'version'], e)
  const report = (e, where) => {
    console.log(`zig ${haveZig(e)}, ${probe('cargo-zigbuild', ['--version'], e)} (${where})`)
    return e
  }
  if (probe('cargo-zigbuild', ['--version'], env) && haveZig(env)) return report(env, 'from PATH')

  const venv = path.join(root, '.cache', 'zigbuild')
  const bin = path.join(venv, process.platform === 'win32' ? 'Scripts' : 'bin')
  const venvEnv = { ...env, PATH: `${bin}${path.delimiter}${env.PATH ?? ''}` }
  const ready = () => fs.existsSync(path.join(bin, exe('cargo-zigbuild'))) && probe(path.join(bin, exe('python')), ['-m', 'ziglang', 'version'])
  if (!ready()) {
    if (!fs.existsSync(path.join(bin, exe('python')))) {
      fs.mkdirSync(path.dirname(venv), { recursive: true })
      if (run(python, ['-m', 'venv', venv]).status !== 0) fail(`creating a Python venv at ${venv} failed (is ${python} with venv installed?)`)
    }
    const pip = run(path.join(bin, exe('python')), ['-m', 'pip', 'install', '--no-input', '--disable-pip-version-check', ...ZIGBUILD_PIP])
    if (pip.status !== 0) fail(`pip install ${ZIGBUILD_PIP.join(' ')} into ${venv} failed`)
    if (!ready()) fail(`${ZIGBUILD_PIP.join(' ')} installed into ${venv}, but cargo-zigbuild or python -m ziglang does not run`)
  }
  return report(venvEnv, path.relative(root, venv))
}

/**
 * CPU seconds (user + system) of this process's waited-for children so far, from /proc (Linux only,
 * else null): the build's CPU time, which other work on the same cores does not inflate the way it
 * does the wall time.
 */
function childCpuSeconds() {
  try {
    const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')
    // After "(comm) ": state is field 3, so cutime (16) and cstime (17) are at 13 and 14; 100 ticks/s on Linux.
    return (Number(fields[13]) + Number(fields[14])) / 100
  } catch {
    return null
  }
}

function readJson(file, fallback) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch {
    return fallback
  }
}

/** Merges this run's builds into dist/build-times.json (one entry per target + profile). */
function writeTimes(host, builds) {
  const file = path.join(root, 'dist', 'build-times.json')
  const previous = readJson(file, { builds: [] })
  const key = (b) => `${b.target} ${b.profile}`
  const fresh = new Set(builds.map(key))
  const merged = [...(previous.builds ?? []).filter((b) => !fresh.has(key(b))), ...builds]
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(
    file,
    `${JSON.stringify(
      {
        note: 'Wall time (seconds) and CPU time (cpuSeconds, user + system of the build processes, Linux only) of `napi build` per target (scripts/build-targets.mjs). cold: target/<triple>/<profile> did not exist before the build. Other work may have shared the CPUs: see cpus and loadAvg1m (at the start of each build).',
        host,
        builds: merged,
      },
      null,
      2,
    )}\n`,
  )
  return file
}

async function main() {
  let opts
  try {
    opts = parseArgs(process.argv.slice(2))
  } catch (e) {
    if (e instanceof UsageError) fail(e.message)
    throw e
  }
  if (opts.help) {
    console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport ')[0].replace(/^\/\/ ?/gm, ''))
    return
  }
  const { parseTriple } = await import('@napi-rs/cli')
  const pkg = readJson(path.join(root, 'package.json'), {})
  const configured = pkg.napi?.targets ?? []
  const binaryName = pkg.napi?.binaryName
  if (!configured.length || !binaryName) fail('package.json has no napi.targets / napi.binaryName')
  const host = hostTriple()
  const profile = opts.profile ?? 'release'

  // Which targets, and how: every problem is reported before the first (long) build starts.
  let plan
  try {
    for (const t of opts.targets) {
      if (!configured.includes(t)) throw new UsageError(`${t} is not in package.json napi.targets (${configured.join(', ')})`)
    }
    if (opts.targets.length) {
      plan = [...new Set(opts.targets)].map((target) => ({ target, mode: buildMode(target, host, parseTriple, opts) }))
    } else {
      plan = []
      for (const target of configured) {
        try {
          plan.push({ target, mode: buildMode(target, host, parseTriple, opts) })
        } catch (e) {
          if (!(e instanceof UsageError)) throw e
          console.log(`skipping ${target}: ${e.message}`)
        }
      }
    }
  } catch (e) {
    if (e instanceof UsageError) fail(e.message)
    throw e
  }
  for (const p of plan) p.platform = parseTriple(p.target).platformArchABI
  // napi's versioned target: cargo-zigbuild links against that glibc, Cargo builds the plain triple.
  for (const p of plan) p.buildTarget = opts.glibc && p.mode === 'zig' && /-linux-gnu$/.test(p.target) ? `${p.target}.${opts.glibc}` : p.target
  console.log(`host ${host}, profile ${profile}: ${plan.map((p) => `${p.buildTarget} (${p.mode === 'zig' ? 'zig, -x' : 'native'})`).join(', ')}`)

  for (const p of plan) ensureRustTarget(p.target)
  const zigEnv = plan.some((p) => p.mode === 'zig') ? ensureZigbuild() : process.env

  const builds = []
  const results = []
  const loader = {}
  for (const p of plan) {
    // napi writes the addon, loader and types into a scratch output dir next to each other (as
    // `npm run build` does in the root, so the loader's relative paths come out the same); the
    // addon is then copied into its platform package.
    const scratch = path.join(root, 'target', 'napi-build', p.platform)
    fs.rmSync(scratch, { recursive: true, force: true })
    const args = [napiCli, 'build', '--platform', ...(opts.profile ? ['--profile', opts.profile] : ['--release'])]
    args.push('--target', p.buildTarget, '--output-dir', path.relative(root, scratch), '--js', 'binding.cjs', '--dts', 'binding.d.ts')
    if (p.mode === 'zig') args.push('-x')
    // A zig build of the host's own triple (--glibc) gets its own target dir: sharing
    // target/<host triple>/ with `npm run build` would rebuild everything each time one follows the other.
    const cargoTargetDir = process.env.CARGO_TARGET_DIR ? path.resolve(root, process.env.CARGO_TARGET_DIR) : path.join(root, 'target')
    const targetDir = path.join(cargoTargetDir, ...(p.mode === 'zig' && p.target === host ? ['zigbuild'] : []))
    if (p.mode === 'zig' && p.target === host) args.push('--target-dir', path.relative(root, targetDir))

    const cold = !fs.existsSync(path.join(targetDir, p.target, profile))
    const loadAvg1m = Number(os.loadavg()[0].toFixed(2))
    const startedAt = new Date().toISOString()
    const t0 = performance.now()
    const cpu0 = childCpuSeconds()
    const env = { ...(p.mode === 'zig' ? zigEnv : process.env) }
    // The oldest macOS the addon loads on. Unset, rustc and Apple's linker use rustc's default for the
    // target (10.12 x86_64, 11.0 arm64), but zig would record its own (macOS 15.0 with zig 0.17):
    // unless MACOSX_DEPLOYMENT_TARGET is set, the script sets rustc's default, raised to 10.13 (the
    // oldest current Xcode links for; napi-rs's template uses it too), for both ways of building.
    if (p.platform.startsWith('darwin')) {
      if (!env.MACOSX_DEPLOYMENT_TARGET) {
        const rustDefault = /=(\S+)/.exec(probe('rustc', ['--print', 'deployment-target', '--target', p.target]) ?? '')?.[1]
        if (!rustDefault) fail(`rustc --print deployment-target --target ${p.target} did not print a version: set MACOSX_DEPLOYMENT_TARGET`)
        env.MACOSX_DEPLOYMENT_TARGET = compareVersions(rustDefault, MIN_MACOS) < 0 ? MIN_MACOS : rustDefault
      }
      p.macos = env.MACOSX_DEPLOYMENT_TARGET
      console.log(`MACOSX_DEPLOYMENT_TARGET=${p.macos}`)
    }
    const r = run(process.execPath, args, { env })
    const seconds = Number(((performance.now() - t0) / 1000).toFixed(1))
    const cpu1 = childCpuSeconds()
    const cpuSeconds = cpu0 === null || cpu1 === null ? null : Number((cpu1 - cpu0).toFixed(1))
    if (r.status !== 0) {
      writeTimes(host, builds)
      fail(`napi build for ${p.target} failed after ${seconds} s${r.error ? ` (${r.error.message})` : ''}`)
    }
    const nodeName = `${binaryName}.${p.platform}.node`
    const file = path.join(root, 'npm', p.platform, nodeName)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.copyFileSync(path.join(scratch, nodeName), file)
    const entry = { target: p.buildTarget, platform: p.platform, profile, mode: p.mode, seconds, cpuSeconds, cold, cpus: os.cpus().length, loadAvg1m, startedAt }
    entry.bytes = fs.statSync(file).size
    builds.push(entry)
    console.log(`\n${p.target}: built in ${seconds} s wall, ${cpuSeconds ?? '?'} s CPU (${cold ? 'cold' : 'warm'} ${path.relative(root, path.join(targetDir, p.target, profile))}) -> ${path.relative(root, file)}`)

    // One loader serves every platform: each build's must match the first one's.
    for (const name of ['binding.cjs', 'binding.d.ts']) {
      const text = fs.readFileSync(path.join(scratch, name), 'utf8')
      if (!(name in loader)) loader[name] = { text, from: p.target }
      else if (text !== loader[name].text) {
        writeTimes(host, builds)
        fail(
          `the ${p.target} build generated a ${name} (${path.relative(root, path.join(scratch, name))}) that differs from the ` +
            `${loader[name].from} one: the exports depend on the target, so one generated loader does not fit every platform`,
        )
      }
    }
    if (opts.check) {
      try {
        const result = checkBinary(path.relative(root, file), p.platform, { maxGlibc: opts.glibc, maxMacos: p.macos })
        console.log(formatCheck(result))
        results.push(result)
      } catch (e) {
        if (!(e instanceof CheckError)) throw e
        writeTimes(host, builds)
        fail(`binary check failed: ${e.message}`)
      }
    }
  }

  // The root loader and types: left alone when equal (the usual case), else refreshed as
  // `npm run build` would (the exports changed since the last build).
  for (const [name, { text }] of Object.entries(loader)) {
    const rootFile = path.join(root, name)
    const current = fs.existsSync(rootFile) ? fs.readFileSync(rootFile, 'utf8') : null
    if (current === text) console.log(`${name}: unchanged (every build generated the same one)`)
    else {
      fs.writeFileSync(rootFile, text)
      console.log(`${name}: ${current === null ? 'written' : 'updated (the exports changed since the last build)'}`)
    }
  }

  const timesFile = writeTimes(host, builds)
  console.log(`\nBuild times (wall, ${os.cpus().length} CPUs; written to ${path.relative(root, timesFile)}):`)
  for (const b of builds) {
    console.log(`  ${b.target.padEnd(33)} ${String(b.seconds).padStart(7)} s wall  ${String(b.cpuSeconds ?? '?').padStart(7)} s CPU  ${b.cold ? 'cold' : 'warm'}  ${b.mode}  load ${b.loadAvg1m}`)
  }
  if (opts.check) console.log(`All ${results.length} binaries passed the check.`)
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main()
