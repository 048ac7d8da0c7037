//! The log switch (`chat_headstart_core::logging`): `lib/native.js` calls `initLogging` once,
//! when the package loads, if `CHAT_HEADSTART_LOG` is set.

use chat_headstart_core::logging::{install, LogFormat};
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// Installs the stderr subscriber for `filter` (EnvFilter syntax) in `format` (`"text"`
/// default, `"json"`). Throws on an invalid filter or format, or when a subscriber exists.
#[napi]
pub fn init_logging(filter: String, format: Option<String>) -> Result<()> {
  let format = LogFormat::parse(format.as_deref()).map_err(Error::from_reason)?;
  install(&filter, format).map_err(Error::from_reason)
}
