use napi_derive::napi;

/// Version of the native core; `index.js` checks it against package.json at load time.
#[napi]
pub fn native_version() -> &'static str {
  env!("CARGO_PKG_VERSION")
}
