// Types of scripts/pack.mjs (for the specs that import it).
export interface PlatformPackage {
  triple: string
  platform: string
  name: string
  dir: string
}
export interface Packed {
  name: string
  platform?: string
  binary?: string
  file: string
  files: string[]
  size: number
}
export declare function platformPackages(pkg?: Record<string, any>): PlatformPackage[]
export declare function publishedManifest(pkg: Record<string, any>): Record<string, any>
export declare function pack(options?: { required?: string[]; dist?: string; binaryDir?: string }): {
  version: string
  packed: Packed[]
  missing: string[]
}
