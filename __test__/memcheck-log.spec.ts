// scripts/memcheck-log.mjs decides what `npm run memcheck` fails on: these logs are cut from real
// valgrind runs of scripts/memcheck-drive.mjs (addresses kept, long stacks shortened).
import test from 'ava'
// @ts-expect-error: a plain .mjs script without declarations
import { addonReport } from '../scripts/memcheck-log.mjs'

const log = (...blocks: string[]) =>
  ['==7== Memcheck, a memory error detector', '==7== ', ...blocks.flatMap((b) => [...b.trim().split('\n').map((l) => `==7== ${l.trim() === '' ? '' : l}`), '==7== '])].join('\n')

const REGISTRATION = `160 bytes in 4 blocks are definitely lost in loss record 87 of 125
   at 0x73B7F2F: operator new(unsigned long) (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
   by 0xF47637: napi_create_reference (in /node/bin/node)
   by 0x2C198FE0: register_classes (module_register.rs:1141)
   by 0x2C198FE0: napi_register_module_v1 (module_register.rs:1039)
   by 0xF6ADD8: napi_module_register_by_symbol (in /node/bin/node)`

const TURN_LEAK = `96 bytes in 2 blocks are definitely lost in loss record 40 of 125
   at 0x73B77B4: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
   by 0x2C6298D3: alloc (library/alloc/src/alloc.rs:95)
   by 0x2C5F0011: chat_headstart_core::wire::ids::part_id (ids.rs:24)
   by 0x2C5F1022: chat_headstart_core::handover::turn::TurnContext::dispatch::{{closure}} (turn.rs:543)`

const INDIRECT = `32 bytes in 1 blocks are indirectly lost in loss record 12 of 125
   at 0x73B77B4: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
   by 0x2C000001: ??? (in /srv/app/target/memcheck/chat-headstart.linux-x64-gnu.node)`

const POSSIBLE = `48 bytes in 1 blocks are possibly lost in loss record 60 of 125
   at 0x73B77B4: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
   by 0x2C83B1BB: <std::thread::thread::Thread>::new (thread.rs:102)
   by 0x2C11975F: chat_headstart::binding::plane::close_c_callback (plane.rs:55)`

const NODE_ONLY = `Conditional jump or move depends on uninitialised value(s)
   at 0x14F5A31: v8::internal::Heap::CollectGarbage (in /node/bin/node)
   by 0x1D5F8DD: Builtins_InterpreterEntryTrampoline (in /node/bin/node)`

const ADDON_ERROR = `Invalid read of size 8
   at 0x2C5F0099: chat_headstart_core::sse::parser::SseParser::feed (parser.rs:210)
   by 0x2C11AAAA: chat_headstart::binding::sse::NativeSseParser::feed (sse.rs:131)
 Address 0x0 is not stack'd, malloc'd or (recently) free'd`

const HEAP = `HEAP SUMMARY:
    in use at exit: 89,402 bytes in 128 blocks
  total heap usage: 245,319 allocs, 245,191 frees, 235,187,751 bytes allocated`

const SUMMARY = `LEAK SUMMARY:
   definitely lost: 160 bytes in 4 blocks
   indirectly lost: 0 bytes in 0 blocks
     possibly lost: 8,789 bytes in 48 blocks
   still reachable: 80,453 bytes in 76 blocks
        suppressed: 0 bytes in 0 blocks`

test('the registration at load is set apart; leaks in Rust frames or the addon file count', (t) => {
  const report = addonReport(log(REGISTRATION, TURN_LEAK, INDIRECT, POSSIBLE, SUMMARY))
  t.is(report.atLoad.length, 1)
  t.true(report.atLoad[0].includes('napi_register_module_v1'))
  t.is(report.leaks.length, 2)
  t.true(report.leaks[0].startsWith('96 bytes in 2 blocks are definitely lost'))
  t.true(report.leaks[1].startsWith('32 bytes in 1 blocks are indirectly lost'))
  t.is(report.possiblyLost.length, 1)
  t.deepEqual(report.errors, [])
})

test("an error in the addon counts, Node's own do not", (t) => {
  const report = addonReport(log(NODE_ONLY, ADDON_ERROR))
  t.is(report.errors.length, 1)
  t.true(report.errors[0].startsWith('Invalid read of size 8'))
  t.true(report.errors[0].includes('parser.rs:210'))
})

test('the HEAP and LEAK SUMMARY figures are read, thousands separators and all', (t) => {
  const { summary } = addonReport(log(HEAP, SUMMARY))
  t.deepEqual(summary, {
    'heap usage': { allocs: 245319, frees: 245191, bytes: 235187751 },
    'definitely lost': { bytes: 160, blocks: 4 },
    'indirectly lost': { bytes: 0, blocks: 0 },
    'possibly lost': { bytes: 8789, blocks: 48 },
    'still reachable': { bytes: 80453, blocks: 76 },
  })
})

test("lines without valgrind's prefix are not read", (t) => {
  const report = addonReport(`${TURN_LEAK}\n\nsome program output\n`)
  t.deepEqual(report, { errors: [], leaks: [], possiblyLost: [], atLoad: [], summary: {} })
})
