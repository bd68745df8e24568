//! The one place that maps `--backend` and the compiled cargo features to a Burn `Device`.

use burn::prelude::*;
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

/// A compute backend, chosen at run time among those compiled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Burn's pure-Rust CPU backend (cargo feature `flex`, the default).
    Flex,
    /// The ndarray CPU backend (cargo feature `ndarray`; deprecated upstream).
    Ndarray,
    /// Any GPU through wgpu: Vulkan, Metal, DX12 (cargo feature `wgpu`).
    Wgpu,
}

impl Backend {
    /// The cargo feature that compiles this backend in.
    pub fn feature(self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::Ndarray => "ndarray",
            Backend::Wgpu => "wgpu",
        }
    }

    /// The backend's name in reports: the feature, and for wgpu built with the `vulkan`
    /// feature `wgpu (SPIR-V)`, since its Vulkan adapters then run CubeCL's SPIR-V kernels
    /// instead of WGSL compiled by naga.
    pub fn label(self) -> &'static str {
        match self {
            Backend::Wgpu if cfg!(feature = "vulkan") => "wgpu (SPIR-V)",
            other => other.feature(),
        }
    }

    /// Whether this binary was built with the backend's feature.
    pub fn is_compiled(self) -> bool {
        match self {
            Backend::Flex => cfg!(feature = "flex"),
            Backend::Ndarray => cfg!(feature = "ndarray"),
            Backend::Wgpu => cfg!(feature = "wgpu"),
        }
    }

    /// The first compiled backend in the order flex, ndarray, wgpu.
    pub fn default_compiled() -> Option<Self> {
        [Backend::Flex, Backend::Ndarray, Backend::Wgpu]
            .into_iter()
            .find(|b| b.is_compiled())
    }

    /// `backend` if given, else the first compiled one.
    pub fn resolve(backend: Option<Self>) -> Result<Self, BackendError> {
        backend
            .or_else(Self::default_compiled)
            .ok_or(BackendError::NoneCompiled)
    }

    /// The backend's device, or an error naming the feature to enable.
    #[allow(unreachable_code, unreachable_patterns, deprecated)] // each arm exists only with its feature; ndarray is deprecated upstream
    pub fn device(self) -> Result<Device, BackendError> {
        match self {
            #[cfg(feature = "flex")]
            Backend::Flex => return Ok(Device::flex()),
            #[cfg(feature = "ndarray")]
            Backend::Ndarray => return Ok(Device::ndarray()),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => return probe_wgpu(Device::wgpu(Default::default())),
            _ => {}
        }
        Err(BackendError::NotCompiled(self.feature()))
    }
}

/// A backend that cannot give a device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The backend's cargo feature was not enabled in this build.
    #[error(
        "backend `{0}` is not compiled into this binary. Rebuild with `--features {0}` (e.g. \
         `cargo run --release --features {0} -- train --backend {0} ...`)"
    )]
    NotCompiled(&'static str),
    /// The binary was built without any backend feature.
    #[error(
        "no backend is compiled into this binary: rebuild with `--features flex` (or ndarray, wgpu)"
    )]
    NoneCompiled,
    /// wgpu found no adapter.
    #[error(
        "the wgpu backend found no usable GPU adapter. Install a Vulkan, Metal or DX12 driver \
         (on Debian/Ubuntu without a GPU, `apt-get install mesa-vulkan-drivers` gives a software \
         one), or choose `--backend flex`"
    )]
    NoGpuAdapter,
}

/// wgpu finds its adapter lazily and panics if there is none: try one tiny op first.
#[cfg(feature = "wgpu")]
fn probe_wgpu(device: Device) -> Result<Device, BackendError> {
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let probe = std::panic::catch_unwind(|| Tensor::<1>::zeros([1], &device).into_data());
    std::panic::set_hook(previous_hook);
    probe
        .map(|_| device)
        .map_err(|_| BackendError::NoGpuAdapter)
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.feature())
    }
}
