// Checks that a built addon is what its platform package claims: the right object format and CPU,
// the right libc, and the Node-API entry point exported. Parses the ELF / Mach-O headers itself
// (no readelf / otool needed), so it runs the same on the Linux, macOS and Windows CI hosts.
//
//   node scripts/check-binary.mjs [--max-glibc 2.28] [--max-macos 11.0] [<file.node> [<platformArchABI>]]...
//
// With no arguments it checks every npm/<platform>/chat-headstart.<platform>.node that exists; with a
// file and no platform, the platform is read from the file name (chat-headstart.<platform>.node).
// Prints one summary per file and exits non-zero when a check fails.
//
// What is checked (throws CheckError with a message naming the file and the failed check):
//   linux-*-gnu     ELF64 LE shared object of the right e_machine (x86-64 / AArch64), NEEDED
//                   libc.so.6, exports napi_register_module_v1; reports the highest GLIBC_ version
//   linux-*-musl    ELF64 shared object of the right machine, NEEDED a musl libc (libc.so /
//                   libc.musl-*), no glibc library (libc.so.6, libpthread.so.0, ...) and no GLIBC_
//                   symbol version, exports napi_register_module_v1
//   darwin-*        Mach-O 64 (0xfeedfacf) MH_DYLIB/MH_BUNDLE of the right cputype (x86_64
//                   0x01000007 / arm64 0x0100000c), exports _napi_register_module_v1, links only
//                   system dylibs (/usr/lib, /System), every napi_* / node_api_* import is bound by
//                   flat lookup (-undefined dynamic_lookup: Node resolves them at load; read from the
//                   dyld bind opcodes or chained fixups), and arm64 carries a valid code signature
//                   (page hashes checked: Apple Silicon refuses unsigned code); reports the minimum
//                   macOS / SDK (LC_BUILD_VERSION or LC_VERSION_MIN_MACOSX)
//   win32-*-msvc    PE32+ DLL of the right machine exporting napi_register_module_v1
//   every target    mimalloc linked exactly on linux-gnu (Cargo.toml's cfg), the system allocator elsewhere
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export class CheckError extends Error {}

const EXPORT = 'napi_register_module_v1'

/**
 * Cargo.toml links mimalloc (the C library, via libmimalloc-sys) only for
 * cfg(all(target_os = "linux", target_env = "gnu")); every other target keeps the system allocator.
 * Its message prefix is in the binary exactly when it is linked.
 */
const MIMALLOC_MARK = Buffer.from('mimalloc: warning: ', 'latin1')

function checkAllocator(buf, { os, abi }) {
  const linked = buf.includes(MIMALLOC_MARK)
  const expected = os === 'linux' && abi === 'gnu'
  if (linked !== expected) {
    throw new CheckError(`mimalloc is ${linked ? '' : 'not '}linked, but Cargo.toml ${expected ? 'enables' : 'does not enable'} it for this target`)
  }
  return `allocator: ${linked ? 'mimalloc (linked, as Cargo.toml sets for linux-gnu)' : 'system (no mimalloc linked)'}`
}

// ---------------------------------------------------------------------------------------------
// ELF
// ---------------------------------------------------------------------------------------------

const EM = { 62: 'x86-64', 183: 'AArch64' }
const SHT_DYNSYM = 11
const SHT_DYNAMIC = 6
const SHT_GNU_VERNEED = 0x6ffffffe
const DT_NEEDED = 1
const DT_SONAME = 14

function cstr(buf, off) {
  const end = buf.indexOf(0, off)
  return buf.toString('latin1', off, end < 0 ? buf.length : end)
}

/** The facts of an ELF64 little-endian shared object the checks need. */
export function parseElf(buf) {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new CheckError('not an ELF file (no \\x7fELF magic)')
  if (buf[4] !== 2) throw new CheckError(`not ELF64 (EI_CLASS ${buf[4]})`)
  if (buf[5] !== 1) throw new CheckError(`not little-endian (EI_DATA ${buf[5]})`)
  const type = buf.readUInt16LE(0x10)
  const machine = buf.readUInt16LE(0x12)
  const shoff = Number(buf.readBigUInt64LE(0x28))
  const shentsize = buf.readUInt16LE(0x3a)
  const shnum = buf.readUInt16LE(0x3c)
  if (!shoff || !shnum) throw new CheckError('ELF has no section headers')
  const sections = []
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize
    sections.push({
      type: buf.readUInt32LE(o + 4),
      offset: Number(buf.readBigUInt64LE(o + 24)),
      size: Number(buf.readBigUInt64LE(o + 32)),
      link: buf.readUInt32LE(o + 40),
      info: buf.readUInt32LE(o + 44),
    })
  }
  const strOf = (sec) => (off) => cstr(buf, sections[sec.link].offset + off)

  const needed = []
  let soname = null
  for (const sec of sections.filter((s) => s.type === SHT_DYNAMIC)) {
    const str = strOf(sec)
    for (let o = sec.offset; o + 16 <= sec.offset + sec.size; o += 16) {
      const tag = buf.readBigInt64LE(o)
      if (tag === 0n) break
      const val = Number(buf.readBigUInt64LE(o + 8))
      if (tag === BigInt(DT_NEEDED)) needed.push(str(val))
      if (tag === BigInt(DT_SONAME)) soname = str(val)
    }
  }

  const exported = []
  const undefinedSyms = []
  for (const sec of sections.filter((s) => s.type === SHT_DYNSYM)) {
    const str = strOf(sec)
    for (let o = sec.offset + 24; o + 24 <= sec.offset + sec.size; o += 24) {
      const name = str(buf.readUInt32LE(o))
      const bind = buf[o + 4] >> 4
      const shndx = buf.readUInt16LE(o + 6)
      if (!name) continue
      if (shndx === 0) undefinedSyms.push(name)
      else if (bind === 1 || bind === 2) exported.push(name)
    }
  }

  // .gnu.version_r: per needed file, the symbol versions required from it (GLIBC_2.17, ...).
  const versionNeeds = []
  for (const sec of sections.filter((s) => s.type === SHT_GNU_VERNEED)) {
    const str = strOf(sec)
    let o = sec.offset
    for (let i = 0; i < sec.info; i++) {
      const cnt = buf.readUInt16LE(o + 2)
      const file = str(buf.readUInt32LE(o + 4))
      let a = o + buf.readUInt32LE(o + 8)
      for (let j = 0; j < cnt; j++) {
        versionNeeds.push({ file, version: str(buf.readUInt32LE(a + 8)) })
        const next = buf.readUInt32LE(a + 12)
        if (!next) break
        a += next
      }
      const next = buf.readUInt32LE(o + 12)
      if (!next) break
      o += next
    }
  }
  return { format: 'ELF64', type, machine: EM[machine] ?? `e_machine ${machine}`, needed, soname, exported, undefinedSyms, versionNeeds }
}

const GLIBC_LIBS = /^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|ld-linux[-\w.]*\.so\.\d|libgcc_s\.so\.1)$/
const MUSL_LIBC = /^(libc\.so|libc\.musl-[\w-]+\.so\.1|ld-musl-[\w-]+\.so\.1)$/

/** Compares dotted versions numerically ('2.28' < '2.34'); negative, zero or positive. */
export function compareVersions(a, b) {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d) return d
  }
  return 0
}

function checkElf(buf, { arch, abi }, { maxGlibc: limit } = {}) {
  const elf = parseElf(buf)
  const wantMachine = { x64: 'x86-64', arm64: 'AArch64' }[arch]
  if (elf.type !== 3) throw new CheckError(`ELF e_type ${elf.type}, expected ET_DYN (3, a shared object)`)
  if (elf.machine !== wantMachine) throw new CheckError(`ELF machine is ${elf.machine}, expected ${wantMachine}`)
  if (!elf.exported.includes(EXPORT)) throw new CheckError(`${EXPORT} is not in the dynamic symbol table`)
  const glibcVersions = [...new Set(elf.versionNeeds.filter((v) => v.version.startsWith('GLIBC_')).map((v) => v.version))]
  const maxGlibc = glibcVersions
    .map((v) => v.slice('GLIBC_'.length))
    .filter((v) => /^[\d.]+$/.test(v))
    .sort(compareVersions)
    .at(-1)
  const lines = [
    `ELF64 ET_DYN, machine ${elf.machine}`,
    `NEEDED ${elf.needed.join(', ') || '(none)'}`,
    `exports ${EXPORT}`,
  ]
  if (abi === 'gnu') {
    if (!elf.needed.includes('libc.so.6')) throw new CheckError(`NEEDED has no libc.so.6 (glibc): ${elf.needed.join(', ')}`)
    if (limit && compareVersions(maxGlibc, limit) > 0) {
      const over = elf.versionNeeds.filter((v) => v.version.startsWith('GLIBC_') && compareVersions(v.version.slice(6), limit) > 0)
      throw new CheckError(`needs GLIBC_${maxGlibc}, newer than the allowed glibc ${limit} (${over.map((v) => `${v.version} from ${v.file}`).join(', ')})`)
    }
    lines.push(`glibc symbol versions: ${glibcVersions.length}, highest GLIBC_${maxGlibc}${limit ? ` (<= ${limit})` : ''}`)
  } else if (abi === 'musl') {
    const glibcLibs = elf.needed.filter((n) => GLIBC_LIBS.test(n))
    if (glibcLibs.length) throw new CheckError(`links glibc libraries (${glibcLibs.join(', ')}), expected musl only`)
    if (!elf.needed.some((n) => MUSL_LIBC.test(n))) throw new CheckError(`NEEDED has no musl libc (libc.so / libc.musl-*): ${elf.needed.join(', ')}`)
    if (glibcVersions.length) throw new CheckError(`requires glibc symbol versions (${glibcVersions.join(', ')}), expected none on musl`)
    const allVersions = [...new Set(elf.versionNeeds.map((v) => v.version))]
    lines.push(`no GLIBC_ symbol versions (version needs: ${allVersions.join(', ') || 'none'})`)
  }
  return { lines, facts: { ...elf, exported: undefined, undefinedSyms: undefined, glibcVersions, maxGlibc } }
}

// ---------------------------------------------------------------------------------------------
// Mach-O
// ---------------------------------------------------------------------------------------------

const CPU = { 0x01000007: 'x86_64', 0x0100000c: 'arm64' }
const MH_DYLIB = 6
const MH_BUNDLE = 8
const LC = {
  SEGMENT_64: 0x19,
  DYSYMTAB: 0xb,
  LOAD_DYLINKER: 0xe,
  FUNCTION_STARTS: 0x26,
  DATA_IN_CODE: 0x29,
  SOURCE_VERSION: 0x2a,
  SYMTAB: 0x2,
  LOAD_DYLIB: 0xc,
  ID_DYLIB: 0xd,
  UUID: 0x1b,
  CODE_SIGNATURE: 0x1d,
  LAZY_LOAD_DYLIB: 0x20,
  VERSION_MIN_MACOSX: 0x24,
  BUILD_VERSION: 0x32,
  LOAD_WEAK_DYLIB: 0x80000018,
  REEXPORT_DYLIB: 0x8000001f,
  LOAD_UPWARD_DYLIB: 0x80000023,
  DYLD_EXPORTS_TRIE: 0x80000033,
  DYLD_CHAINED_FIXUPS: 0x80000034,
  DYLD_INFO_ONLY: 0x80000022,
}
const DYLIB_CMDS = new Set([LC.LOAD_DYLIB, LC.LAZY_LOAD_DYLIB, LC.LOAD_WEAK_DYLIB, LC.REEXPORT_DYLIB, LC.LOAD_UPWARD_DYLIB])
/** BIND_SPECIAL_DYLIB_FLAT_LOOKUP: looked up in every image loaded at run time (`-undefined dynamic_lookup`). */
const FLAT_LOOKUP = -2
const PLATFORMS = { 1: 'macos', 2: 'ios', 3: 'tvos', 4: 'watchos' }
const TOOLS = { 1: 'clang', 2: 'swift', 3: 'ld', 4: 'lld' }

/** xxxx.yy.zz nibble-packed version (LC_BUILD_VERSION / LC_VERSION_MIN_*). */
function machoVersion(v) {
  return `${v >>> 16}.${(v >> 8) & 0xff}${v & 0xff ? `.${v & 0xff}` : ''}`
}

/** The facts of a thin 64-bit little-endian Mach-O the checks need. */
export function parseMachO(buf) {
  if (buf.length < 32) throw new CheckError('too short for a Mach-O header')
  const magic = buf.readUInt32LE(0)
  if (buf.readUInt32BE(0) === 0xcafebabe) throw new CheckError('a universal (fat) Mach-O, expected a thin one per platform package')
  if (magic !== 0xfeedfacf) throw new CheckError(`not a 64-bit Mach-O (magic 0x${magic.toString(16)}, expected 0xfeedfacf)`)
  const cputype = buf.readUInt32LE(4)
  const filetype = buf.readUInt32LE(12)
  const ncmds = buf.readUInt32LE(16)
  const flags = buf.readUInt32LE(24)
  const facts = {
    format: 'Mach-O 64',
    cputype: `0x${cputype.toString(16).padStart(8, '0')}`,
    cpu: CPU[cputype] ?? 'unknown',
    filetype,
    flags,
    dylibs: [],
    build: null,
    versionMin: null,
    codeSignature: false,
    chainedFixups: false,
    loadCommands: [],
  }
  let symtab = null
  let chained = null
  const bindStreams = []
  let o = 32
  for (let i = 0; i < ncmds; i++) {
    const cmd = buf.readUInt32LE(o)
    const size = buf.readUInt32LE(o + 4)
    facts.loadCommands.push(Object.entries(LC).find(([, v]) => v === cmd)?.[0] ?? `0x${cmd.toString(16)}`)
    if (DYLIB_CMDS.has(cmd)) facts.dylibs.push(cstr(buf, o + buf.readUInt32LE(o + 8)))
    else if (cmd === LC.SYMTAB) {
      symtab = { symoff: buf.readUInt32LE(o + 8), nsyms: buf.readUInt32LE(o + 12), stroff: buf.readUInt32LE(o + 16) }
    } else if (cmd === LC.BUILD_VERSION) {
      const ntools = buf.readUInt32LE(o + 20)
      const tools = []
      for (let t = 0; t < ntools; t++) {
        const tool = buf.readUInt32LE(o + 24 + t * 8)
        tools.push(`${TOOLS[tool] ?? `tool ${tool}`} ${machoVersion(buf.readUInt32LE(o + 28 + t * 8))}`)
      }
      const platform = buf.readUInt32LE(o + 8)
      facts.build = {
        platform: PLATFORMS[platform] ?? platform,
        minos: machoVersion(buf.readUInt32LE(o + 12)),
        sdk: buf.readUInt32LE(o + 16) ? machoVersion(buf.readUInt32LE(o + 16)) : 'n/a (0)',
        tools,
      }
    } else if (cmd === LC.VERSION_MIN_MACOSX) {
      facts.versionMin = { version: machoVersion(buf.readUInt32LE(o + 8)), sdk: machoVersion(buf.readUInt32LE(o + 12)) }
    } else if (cmd === LC.CODE_SIGNATURE) facts.codeSignature = { off: buf.readUInt32LE(o + 8), size: buf.readUInt32LE(o + 12) }
    else if (cmd === LC.DYLD_CHAINED_FIXUPS) {
      facts.chainedFixups = true
      chained = { off: buf.readUInt32LE(o + 8), size: buf.readUInt32LE(o + 12) }
    } else if (cmd === LC.DYLD_INFO_ONLY || cmd === 0x22) {
      for (const at of [16, 24, 32]) {
        const off = buf.readUInt32LE(o + at)
        const size = buf.readUInt32LE(o + at + 4)
        if (off && size) bindStreams.push([off, size])
      }
    }
    o += size
  }
  facts.exported = []
  facts.undefinedSyms = []
  if (symtab) {
    for (let s = 0; s < symtab.nsyms; s++) {
      const e = symtab.symoff + s * 16
      const type = buf[e + 4]
      if (type & 0xe0) continue // N_STAB debug entry
      const name = cstr(buf, symtab.stroff + buf.readUInt32LE(e))
      const kind = type & 0x0e
      const ext = type & 0x01
      if (kind === 0x0e && ext) facts.exported.push(name)
      else if (kind === 0 && ext) facts.undefinedSyms.push(name)
    }
  }
  // What dyld binds each import to (library ordinal; negative = special): from the chained fixups'
  // import table, or from the bind / weak bind / lazy bind opcode streams of LC_DYLD_INFO.
  facts.imports = new Map()
  if (chained) parseChainedImports(buf, chained.off, facts.imports)
  for (const [off, size] of bindStreams) parseBindOpcodes(buf, off, off + size, facts.imports)
  return facts
}

/**
 * Verifies the (ad-hoc) code signature: the CodeDirectory's page hashes must match the file, as the
 * kernel checks on Apple Silicon when it maps the pages. Returns a one-line description.
 */
function verifyCodeSignature(buf, { off, size }) {
  if (off + size > buf.length || buf.readUInt32BE(off) !== 0xfade0cc0) throw new CheckError('LC_CODE_SIGNATURE does not point at a code signature SuperBlob')
  const count = buf.readUInt32BE(off + 8)
  let cd = null
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32BE(off + 12 + i * 8) === 0) cd = off + buf.readUInt32BE(off + 16 + i * 8)
  }
  if (cd === null || buf.readUInt32BE(cd) !== 0xfade0c02) throw new CheckError('the code signature has no CodeDirectory')
  const hashOffset = buf.readUInt32BE(cd + 16)
  const nCodeSlots = buf.readUInt32BE(cd + 28)
  const codeLimit = buf.readUInt32BE(cd + 32)
  const hashSize = buf[cd + 36]
  const hashType = buf[cd + 37]
  const pageSize = 2 ** buf[cd + 39]
  const algorithm = { 1: 'sha1', 2: 'sha256' }[hashType]
  if (!algorithm) throw new CheckError(`code signature hash type ${hashType} is not SHA-1/SHA-256`)
  if (codeLimit !== off) throw new CheckError(`the code signature covers ${codeLimit} bytes, not the ${off} before it`)
  for (let i = 0; i < nCodeSlots; i++) {
    const page = buf.subarray(i * pageSize, Math.min((i + 1) * pageSize, codeLimit))
    const want = buf.subarray(cd + hashOffset + i * hashSize, cd + hashOffset + (i + 1) * hashSize)
    if (!crypto.createHash(algorithm).update(page).digest().subarray(0, hashSize).equals(want)) {
      throw new CheckError(`code signature page ${i} hash does not match the file (the signature is invalid: macOS would kill the process)`)
    }
  }
  const flags = buf.readUInt32BE(cd + 12)
  return `${flags & 0x2 ? 'ad-hoc' : 'signed'}, ${nCodeSlots} ${algorithm} page hashes verified`
}

function uleb(buf, pos) {
  let result = 0n
  let shift = 0n
  let byte
  do {
    byte = buf[pos.i++]
    result |= BigInt(byte & 0x7f) << shift
    shift += 7n
  } while (byte & 0x80)
  return result
}

/** dyld bind opcodes (mach-o/loader.h BIND_OPCODE_*): records symbol name -> library ordinal at each bind. */
function parseBindOpcodes(buf, start, end, imports) {
  const pos = { i: start }
  let ordinal = 0
  let symbol = null
  while (pos.i < end) {
    const byte = buf[pos.i++]
    const op = byte & 0xf0
    const imm = byte & 0x0f
    if (op >= 0x90 && op <= 0xc0 && symbol !== null) imports.set(symbol, ordinal)
    switch (op) {
      case 0x00: // DONE (lazy bind streams hold one entry per DONE; keep going)
        break
      case 0x10: // SET_DYLIB_ORDINAL_IMM
        ordinal = imm
        break
      case 0x20: // SET_DYLIB_ORDINAL_ULEB
        ordinal = Number(uleb(buf, pos))
        break
      case 0x30: // SET_DYLIB_SPECIAL_IMM: 0 self, -1 main executable, -2 flat lookup, -3 weak lookup
        ordinal = imm === 0 ? 0 : imm | ~0x0f
        break
      case 0x40: {
        // SET_SYMBOL_TRAILING_FLAGS_IMM
        const nul = buf.indexOf(0, pos.i)
        symbol = buf.toString('latin1', pos.i, nul)
        pos.i = nul + 1
        break
      }
      case 0x50: // SET_TYPE_IMM
      case 0x90: // DO_BIND
      case 0xb0: // DO_BIND_ADD_ADDR_IMM_SCALED
        break
      case 0x60: // SET_ADDEND_SLEB
      case 0x70: // SET_SEGMENT_AND_OFFSET_ULEB
      case 0x80: // ADD_ADDR_ULEB
      case 0xa0: // DO_BIND_ADD_ADDR_ULEB
        uleb(buf, pos)
        break
      case 0xc0: // DO_BIND_ULEB_TIMES_SKIPPING_ULEB
        uleb(buf, pos)
        uleb(buf, pos)
        break
      case 0xd0: // THREADED: SET_BIND_ORDINAL_TABLE_SIZE_ULEB (imm 0) takes an operand, APPLY (imm 1) none
        if (imm === 0) uleb(buf, pos)
        break
      default:
        throw new CheckError(`unknown bind opcode 0x${byte.toString(16)} at 0x${(pos.i - 1).toString(16)}`)
    }
  }
}

/** LC_DYLD_CHAINED_FIXUPS import table (mach-o/fixup-chains.h): symbol name -> library ordinal. */
function parseChainedImports(buf, off, imports) {
  const importsOffset = buf.readUInt32LE(off + 8)
  const symbolsOffset = buf.readUInt32LE(off + 12)
  const count = buf.readUInt32LE(off + 16)
  const format = buf.readUInt32LE(off + 20)
  const size = { 1: 4, 2: 8, 3: 16 }[format]
  if (!size) throw new CheckError(`unknown chained fixups imports_format ${format}`)
  for (let n = 0; n < count; n++) {
    const e = off + importsOffset + n * size
    let ordinal, nameOffset
    if (format === 3) {
      const v = buf.readUInt32LE(e)
      ordinal = v & 0xffff
      if (ordinal >= 0xfff0) ordinal -= 0x10000
      nameOffset = buf.readUInt32LE(e + 4)
    } else {
      const v = buf.readUInt32LE(e)
      ordinal = v & 0xff
      if (ordinal >= 0xf0) ordinal -= 0x100
      nameOffset = v >>> 9
    }
    imports.set(cstr(buf, off + symbolsOffset + nameOffset), ordinal)
  }
}

function checkMachO(buf, { arch }, { maxMacos } = {}) {
  const m = parseMachO(buf)
  const wantCpu = { x64: 'x86_64', arm64: 'arm64' }[arch]
  if (m.cpu !== wantCpu) throw new CheckError(`Mach-O cputype ${m.cputype} (${m.cpu}), expected ${wantCpu}`)
  if (m.filetype !== MH_DYLIB && m.filetype !== MH_BUNDLE) throw new CheckError(`Mach-O filetype ${m.filetype}, expected MH_DYLIB (6) or MH_BUNDLE (8)`)
  if (!m.exported.includes(`_${EXPORT}`)) throw new CheckError(`_${EXPORT} is not an exported symbol`)
  const foreign = m.dylibs.filter((d) => !d.startsWith('/usr/lib/') && !d.startsWith('/System/Library/'))
  if (foreign.length) throw new CheckError(`links non-system dylibs: ${foreign.join(', ')}`)
  const napiImports = [...m.imports].filter(([name]) => name.startsWith('_napi_') || name.startsWith('_node_api_'))
  if (!napiImports.length) throw new CheckError('binds no _napi_* symbol (is this a Node-API addon?)')
  const bound = napiImports.filter(([, ordinal]) => ordinal !== FLAT_LOOKUP)
  if (bound.length) {
    const [name, ordinal] = bound[0]
    throw new CheckError(`${bound.length} napi imports are bound to a library instead of a flat (dynamic_lookup) lookup, e.g. ${name} to ordinal ${ordinal}`)
  }
  const minos = m.build?.minos ?? m.versionMin?.version
  if (maxMacos && (!minos || compareVersions(minos, maxMacos) > 0)) {
    throw new CheckError(`built for macOS ${minos ?? '(no minimum recorded)'} and later, expected ${maxMacos} or older (MACOSX_DEPLOYMENT_TARGET)`)
  }
  if (!m.loadCommands.includes('UUID')) throw new CheckError('no LC_UUID: current dyld refuses to load a Mach-O without one')
  if (arch === 'arm64' && !m.codeSignature) throw new CheckError('arm64 Mach-O without LC_CODE_SIGNATURE: macOS on Apple Silicon refuses to load it')
  const signature = m.codeSignature ? `yes (${verifyCodeSignature(buf, m.codeSignature)})` : 'no (x86_64 does not need one)'
  const build = m.build
    ? `LC_BUILD_VERSION ${m.build.platform} minos ${m.build.minos} sdk ${m.build.sdk}${m.build.tools.length ? ` (tools: ${m.build.tools.join(', ')})` : ''}`
    : m.versionMin
      ? `LC_VERSION_MIN_MACOSX ${m.versionMin.version} sdk ${m.versionMin.sdk}`
      : 'no LC_BUILD_VERSION / LC_VERSION_MIN_MACOSX'
  const lines = [
    `Mach-O 64 ${m.filetype === MH_DYLIB ? 'MH_DYLIB' : 'MH_BUNDLE'}, cputype ${m.cputype} (${m.cpu})`,
    `dylibs ${m.dylibs.join(', ') || '(none)'}`,
    `exports _${EXPORT}; ${napiImports.length} napi imports bound by flat lookup at load (-undefined dynamic_lookup; ${m.chainedFixups ? 'chained fixups' : 'dyld bind opcodes'})`,
    build,
    `code signature: ${signature}`,
  ]
  return { lines, facts: { ...m, exported: undefined, undefinedSyms: undefined, imports: undefined } }
}

// ---------------------------------------------------------------------------------------------
// PE (the Windows build only runs in the workflow; this keeps the check honest there too)
// ---------------------------------------------------------------------------------------------

function checkPe(buf, { arch }) {
  if (buf.readUInt16LE(0) !== 0x5a4d) throw new CheckError('not a PE file (no MZ header)')
  const pe = buf.readUInt32LE(0x3c)
  if (buf.readUInt32LE(pe) !== 0x00004550) throw new CheckError('no PE signature')
  const machine = buf.readUInt16LE(pe + 4)
  const characteristics = buf.readUInt16LE(pe + 22)
  const wantMachine = { x64: 0x8664, arm64: 0xaa64 }[arch]
  if (machine !== wantMachine) throw new CheckError(`PE machine 0x${machine.toString(16)}, expected 0x${wantMachine.toString(16)}`)
  if (!(characteristics & 0x2000)) throw new CheckError('PE file is not a DLL')
  if (!buf.includes(Buffer.from(`${EXPORT}\0`, 'latin1'))) throw new CheckError(`${EXPORT} is not in the export names`)
  return { lines: [`PE32+ DLL, machine 0x${machine.toString(16)}`, `exports ${EXPORT}`], facts: { format: 'PE32+', machine } }
}

/** Parses `linux-arm64-gnu` / `darwin-x64` / `win32-x64-msvc` into { os, arch, abi }. */
export function parsePlatform(platform) {
  const [os, arch, abi = null] = platform.split('-')
  if (!['linux', 'darwin', 'win32'].includes(os) || !['x64', 'arm64'].includes(arch)) {
    throw new CheckError(`unknown platform ${platform}`)
  }
  return { os, arch, abi }
}

/**
 * Checks the addon `file` built for `platform` (napi's platformArchABI); `options.maxGlibc` ('2.28')
 * also fails a linux-gnu binary that needs a newer GLIBC_ symbol version, `options.maxMacos` ('11.0') a
 * darwin binary whose minimum macOS (LC_BUILD_VERSION minos) is newer. Returns
 * `{ platform, file, lines, facts }`; throws CheckError (message names the file) when a check fails.
 */
export function checkBinary(file, platform, options = {}) {
  const target = parsePlatform(platform)
  let buf
  try {
    buf = fs.readFileSync(file)
  } catch (e) {
    throw new CheckError(`${file}: cannot read (${e.code ?? e.message})`)
  }
  try {
    const check = target.os === 'linux' ? checkElf : target.os === 'darwin' ? checkMachO : checkPe
    const result = check(buf, target, options)
    result.lines.push(checkAllocator(buf, target))
    return { platform, file, size: buf.length, ...result }
  } catch (e) {
    if (e instanceof CheckError) throw new CheckError(`${file} (${platform}): ${e.message}`)
    throw new CheckError(`${file} (${platform}): malformed binary (${e.message})`)
  }
}

export function formatCheck(result) {
  return [`${result.platform}: ${result.file} (${(result.size / 1048576).toFixed(1)} MiB)`, ...result.lines.map((l) => `  ${l}`)].join('\n')
}

// CLI
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
  const args = []
  const options = {}
  for (let i = 2; i < process.argv.length; i++) {
    const a = process.argv[i]
    if (a === '--max-glibc') options.maxGlibc = process.argv[++i]
    else if (a === '--max-macos') options.maxMacos = process.argv[++i]
    else args.push(a)
  }
  const jobs = []
  if (!args.length) {
    const npmDir = path.join(root, 'npm')
    for (const platform of fs.readdirSync(npmDir)) {
      const file = path.join(npmDir, platform, `chat-headstart.${platform}.node`)
      if (fs.existsSync(file)) jobs.push([file, platform])
    }
    if (!jobs.length) {
      console.error('No npm/<platform>/chat-headstart.<platform>.node to check: build some with npm run build:targets')
      process.exit(1)
    }
  } else {
    for (let i = 0; i < args.length; i++) {
      const file = args[i]
      let platform = args[i + 1] && !args[i + 1].endsWith('.node') ? args[++i] : null
      if (!platform) {
        const m = /\.([a-z0-9]+-[a-z0-9]+(?:-[a-z]+)?)\.node$/.exec(path.basename(file))
        if (!m) {
          console.error(`${file}: cannot tell the platform from the file name; pass it after the file`)
          process.exit(1)
        }
        platform = m[1]
      }
      jobs.push([file, platform])
    }
  }
  let failed = 0
  for (const [file, platform] of jobs) {
    try {
      console.log(formatCheck(checkBinary(path.relative(process.cwd(), file) || file, platform, options)))
    } catch (e) {
      if (!(e instanceof CheckError)) throw e
      console.error(`FAIL ${e.message}`)
      failed++
    }
  }
  process.exit(failed ? 1 : 0)
}
