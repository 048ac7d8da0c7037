// The private generated napi-rs loader (binding.cjs, typed by the generated binding.d.ts).
// Not public API: for lib/ modules and tests.
import type * as Binding from '../binding.d.ts'

export declare const native: typeof Binding
