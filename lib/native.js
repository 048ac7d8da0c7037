// The generated napi-rs loader is private: everything public goes through index.js.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/** @type {import('../binding.d.ts')} */
export const native = require('../binding.cjs')
