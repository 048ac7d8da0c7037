// What the package declares and what `npm run pack` puts in the tarballs: the `ai` peer range,
// one platform package per napi target at the same version, the optional dependencies napi's
// prepublish writes, no install scripts anywhere, and a version bump that moves all seven.
import test from 'ava'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { pack, platformPackages } from '../scripts/pack.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
const napiCli = path.join(root, 'node_modules/@napi-rs/cli/dist/cli.js')
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare']

/** `{ [path]: contents }` of the files in a tarball that match `wanted`. */
function tarball(file: string): { files: string[]; json: (name: string) => any } {
  const files = execFileSync('tar', ['tzf', file], { encoding: 'utf8' }).trim().split('\n')
  const json = (name: string) => JSON.parse(execFileSync('tar', ['xzOf', file, `package/${name}`], { encoding: 'utf8' }))
  return { files, json }
}

test('ai is a peer dependency admitting majors 5, 6 and 7, and nothing else is imported at run time', (t) => {
  t.deepEqual(pkg.peerDependencies, { ai: '^5.0.0 || ^6.0.0 || >=7.0.0-canary <8' })
  t.is(pkg.dependencies, undefined)
  const bare = new Set<string>()
  for (const dir of ['lib', 'bin']) {
    for (const file of fs.readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'))) {
      const source = fs.readFileSync(path.join(root, dir, file), 'utf8')
      const specifiers = source.matchAll(/^(?:import|export)\b[^;'"`]*?\sfrom\s+'([^'.][^']*)'|(?:import|require)\(\s*'([^'.][^']*)'/gm)
      for (const m of specifiers) if (!(m[1] ?? m[2]).startsWith('node:')) bare.add((m[1] ?? m[2]).split('/')[0])
    }
  }
  t.deepEqual([...bare], ['ai'])
})

test('one platform package per napi target, at the package version, with the right os / cpu / libc', (t) => {
  const expected: Record<string, { os: string; cpu: string; libc?: string }> = {
    'linux-x64-gnu': { os: 'linux', cpu: 'x64', libc: 'glibc' },
    'linux-arm64-gnu': { os: 'linux', cpu: 'arm64', libc: 'glibc' },
    'linux-x64-musl': { os: 'linux', cpu: 'x64', libc: 'musl' },
    'darwin-x64': { os: 'darwin', cpu: 'x64' },
    'darwin-arm64': { os: 'darwin', cpu: 'arm64' },
    'win32-x64-msvc': { os: 'win32', cpu: 'x64' },
  }
  const targets = platformPackages(pkg)
  t.deepEqual(targets.map((p) => p.platform).sort(), Object.keys(expected).sort())
  for (const { platform, name, dir } of targets) {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
    const { os: osName, cpu, libc } = expected[platform]
    t.like(manifest, { name, version: pkg.version, main: `chat-headstart.${platform}.node`, os: [osName], cpu: [cpu] }, platform)
    t.deepEqual(manifest.libc, libc === undefined ? undefined : [libc], platform)
    t.deepEqual(manifest.files, [`chat-headstart.${platform}.node`], platform)
    t.true(INSTALL_SCRIPTS.every((s) => manifest.scripts?.[s] === undefined), platform)
  }
  t.true(INSTALL_SCRIPTS.every((s) => pkg.scripts[s] === undefined))
  t.false(fs.existsSync(path.join(root, 'binding.gyp')))
})

test('a version bump (npm version → napi version) moves the six platform packages with it', (t) => {
  t.is(pkg.scripts.version, 'napi version')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-headstart-version-'))
  try {
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ ...pkg, version: '0.2.0-test.1' }))
    fs.cpSync(path.join(root, 'npm'), path.join(dir, 'npm'), { recursive: true, filter: (f) => !f.endsWith('.node') })
    execFileSync(process.execPath, [napiCli, 'version', '--cwd', dir], { stdio: 'ignore' })
    for (const { platform } of platformPackages(pkg)) {
      t.is(JSON.parse(fs.readFileSync(path.join(dir, 'npm', platform, 'package.json'), 'utf8')).version, '0.2.0-test.1', platform)
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('npm run pack: the JS tarball has no binary and names every platform package; each binary gets its own tarball', (t) => {
  const binary = path.join(root, 'chat-headstart.linux-x64-gnu.node')
  t.true(fs.existsSync(binary), 'npm test builds the addon before the specs')
  const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-headstart-pack-'))
  const npmFolders = () => execFileSync('ls', ['-lR', path.join(root, 'npm')], { encoding: 'utf8' })
  const before = npmFolders()
  try {
    const { packed, missing } = pack({ dist, required: ['linux-x64-gnu'], binaryDir: root })
    const main = tarball(path.join(dist, `chat-headstart-${pkg.version}.tgz`))
    t.deepEqual(main.files.filter((f) => f.endsWith('.node')), [])
    for (const file of ['package/index.js', 'package/index.d.ts', 'package/binding.cjs', 'package/bin/chat-headstart.js', 'package/lib/chat.d.ts']) {
      t.true(main.files.includes(file), file)
    }
    // Every module under lib/, the listener's folder lib/node/ included.
    const libFiles = fs.readdirSync(path.join(root, 'lib'), { recursive: true, encoding: 'utf8' }).filter((f) => /\.(js|cjs|d\.ts)$/.test(f))
    t.true(libFiles.includes(path.join('node', 'listener.js')))
    for (const file of libFiles) t.true(main.files.includes(`package/lib/${file.split(path.sep).join('/')}`), file)
    const manifest = main.json('package.json')
    t.deepEqual(manifest.optionalDependencies, Object.fromEntries(platformPackages(pkg).map((p) => [p.name, pkg.version])))
    t.deepEqual(manifest.peerDependencies, pkg.peerDependencies)
    t.true(INSTALL_SCRIPTS.every((s) => manifest.scripts?.[s] === undefined))

    const host = tarball(path.join(dist, `chat-headstart-linux-x64-gnu-${pkg.version}.tgz`))
    t.deepEqual(host.files.sort(), ['package/README.md', 'package/chat-headstart.linux-x64-gnu.node', 'package/package.json'])
    t.is(host.json('package.json').version, pkg.version)
    t.is(packed.length, 1 + platformPackages(pkg).length - missing.length)
    // The repo's platform folders are staged, never written into.
    t.is(npmFolders(), before)
  } finally {
    fs.rmSync(dist, { recursive: true, force: true })
  }
})
