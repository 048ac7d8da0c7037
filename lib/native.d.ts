/** The private generated napi-rs loader (binding.cjs). Not public API: for lib/ modules and tests. */
export declare const native: Record<string, any>
