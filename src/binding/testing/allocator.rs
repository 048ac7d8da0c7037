//! Diagnostics of the addon's Rust allocator, for the memory split `bench/headstart` prints:
//! how much of the process RSS is memory mimalloc holds for our Rust code (live allocations
//! plus what it keeps committed for reuse), as opposed to V8's heap and Node's own allocations.

use napi_derive::napi;

#[napi(object)]
pub struct AllocatorStats {
  /// `"mimalloc"` or `"system"` (targets without mimalloc, or built without the feature: see Cargo.toml).
  pub allocator: String,
  /// Bytes mimalloc currently has committed (read/write accessible) for the addon's Rust code.
  pub committed: Option<f64>,
  /// The most `committed` has been since the process started.
  pub peak_committed: Option<f64>,
}

/// Memory held by the addon's Rust allocator (`committed` is absent with the system allocator).
#[napi]
pub fn allocator_stats() -> AllocatorStats {
  #[cfg(all(feature = "mimalloc", target_os = "linux", target_env = "gnu"))]
  {
    let (mut committed, mut peak_committed) = (0usize, 0usize);
    let null = std::ptr::null_mut();
    // SAFETY: every out-pointer is either null (not wanted) or a valid `usize` on our stack.
    unsafe {
      libmimalloc_sys::mi_process_info(
        null,
        null,
        null,
        null,
        null,
        &mut committed,
        &mut peak_committed,
        null,
      );
    }
    AllocatorStats {
      allocator: "mimalloc".into(),
      committed: Some(committed as f64),
      peak_committed: Some(peak_committed as f64),
    }
  }
  #[cfg(not(all(feature = "mimalloc", target_os = "linux", target_env = "gnu")))]
  AllocatorStats {
    allocator: "system".into(),
    committed: None,
    peak_committed: None,
  }
}
