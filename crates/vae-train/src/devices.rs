//! `vae train --devices`: several devices of one compiled backend for data-parallel training
//! with Burn's own multi-device strategy (`ExecutionStrategy::MultiDevice`).
//!
//! Burn gives each device a contiguous share of the training images and one worker thread;
//! every optimizer step takes one batch from each device and **sums** their gradients on the
//! first device (`MultiDeviceOptim::OptimMainDevice`). The objective here is a batch *sum*
//! (PyTorch's `examples/vae`), so that sum is exactly the gradient of one batch of
//! `devices × batch_size` images: the learning rate applies unchanged, as it would to a
//! single-device run with that batch size. No collective operation is involved, so any
//! backend works, GPUs of any vendor through wgpu included.

use std::fmt;

use burn::prelude::*;

use crate::backend::{Backend, BackendError};

/// The devices of a `--devices` list, all of one backend; the first is the main device
/// (optimizer, validation, checkpoints).
#[derive(Debug, Clone)]
pub struct DeviceList {
    /// Their backend.
    pub backend: Backend,
    /// The devices, main device first.
    pub devices: Vec<Device>,
    /// Each as written (`flex`, `wgpu:1`), for messages.
    pub names: Vec<String>,
}

/// A `--devices` list that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DevicesError {
    /// Nothing listed.
    #[error(
        "--devices is empty: list one or more devices, e.g. `--devices flex,flex` or `--devices wgpu:0,wgpu:1`"
    )]
    Empty,
    /// A name that is not a backend.
    #[error(
        "--devices names `{0}`, which is not a backend: use flex, ndarray or wgpu (wgpu:N for \
         the N-th GPU), e.g. `--devices wgpu:0,wgpu:1`"
    )]
    Unknown(String),
    /// Two backends in one list.
    #[error(
        "--devices mixes backends ({0} and {1}): list devices of one backend, e.g. \
         `--devices {0},{0}`"
    )]
    Mixed(Backend, Backend),
    /// `--backend` names another backend than the list.
    #[error("--backend is {0} but --devices lists {1} devices: drop --backend or make them agree")]
    Conflict(Backend, Backend),
    /// An index on a CPU backend.
    #[error(
        "--devices names `{0}`, but {1} has one device and no index: repeat it (`{1},{1}`) to \
         run several workers on it"
    )]
    IndexOnCpu(String, Backend),
    /// An index that is not a number.
    #[error("--devices names `{0}`: the index after `:` must be a number, e.g. `wgpu:1`")]
    BadIndex(String),
    /// The same GPU twice.
    #[error("--devices lists `{0}` twice: name each GPU once (`wgpu:0,wgpu:1`)")]
    Duplicate(String),
    /// A GPU index past the last GPU.
    #[error(
        "--devices names `{spec}`, but wgpu found {found} device(s) (indices 0 to {last}): use \
         an index below {found}"
    )]
    OutOfRange {
        /// As written.
        spec: String,
        /// Devices found.
        found: usize,
        /// The last index (0 when none).
        last: usize,
    },
    /// The backend is not compiled in (or found no GPU).
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl DeviceList {
    /// Parses `--devices` (`flex,flex`, `wgpu:0,wgpu:1`, `wgpu` for the default GPU) and
    /// checks it against `--backend`.
    pub fn parse(text: &str, backend: Option<Backend>) -> Result<Self, DevicesError> {
        let specs: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if specs.is_empty() {
            return Err(DevicesError::Empty);
        }
        let mut parsed = Vec::with_capacity(specs.len());
        for spec in &specs {
            let (name, index) = match spec.split_once(':') {
                Some((name, index)) => (name, Some(index)),
                None => (*spec, None),
            };
            let device_backend = match name {
                "flex" => Backend::Flex,
                "ndarray" => Backend::Ndarray,
                "wgpu" => Backend::Wgpu,
                _ => return Err(DevicesError::Unknown(spec.to_string())),
            };
            let index = match index {
                None => None,
                Some(_) if device_backend != Backend::Wgpu => {
                    return Err(DevicesError::IndexOnCpu(spec.to_string(), device_backend));
                }
                Some(index) => Some(
                    index
                        .parse::<usize>()
                        .map_err(|_| DevicesError::BadIndex(spec.to_string()))?,
                ),
            };
            parsed.push((device_backend, index));
        }
        let first = parsed[0].0;
        if let Some(&(other, _)) = parsed.iter().find(|(b, _)| *b != first) {
            return Err(DevicesError::Mixed(first, other));
        }
        if let Some(backend) = backend
            && backend != first
        {
            return Err(DevicesError::Conflict(backend, first));
        }
        if first == Backend::Wgpu {
            for (i, spec) in specs.iter().enumerate() {
                if specs[..i].contains(spec) {
                    return Err(DevicesError::Duplicate(spec.to_string()));
                }
            }
        }
        let devices = parsed
            .iter()
            .zip(&specs)
            .map(|(&(backend, index), spec)| match index {
                None => Ok(backend.device()?),
                Some(index) => gpu(index, spec),
            })
            .collect::<Result<Vec<_>, DevicesError>>()?;
        Ok(Self {
            backend: first,
            devices,
            names: specs.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// The main device: the first.
    pub fn main(&self) -> &Device {
        &self.devices[0]
    }

    /// Optimizer steps in an epoch of `images` training images: Burn gives device `i` a
    /// contiguous share (`images / n` each, the remainder to the last), and each step takes
    /// one batch from every device that has one left.
    pub fn steps_per_epoch(&self, images: usize, batch_size: usize) -> usize {
        shares(images, self.devices.len())
            .into_iter()
            .map(|share| share.div_ceil(batch_size.max(1)))
            .max()
            .unwrap_or(0)
    }

    /// Batches in an epoch over all devices (each device's share in batches).
    pub fn batches_per_epoch(&self, images: usize, batch_size: usize) -> usize {
        shares(images, self.devices.len())
            .into_iter()
            .map(|share| share.div_ceil(batch_size.max(1)))
            .sum()
    }
}

/// Each device's share of `images`, as Burn's `split_dataloader` cuts them.
fn shares(images: usize, devices: usize) -> Vec<usize> {
    let devices = devices.max(1);
    let step = images / devices;
    let mut shares = vec![step; devices];
    shares[devices - 1] = images - step * (devices - 1);
    shares
}

/// The `index`-th wgpu device.
#[allow(unused_variables, unreachable_code)] // without the wgpu feature only the error remains
fn gpu(index: usize, spec: &str) -> Result<Device, DevicesError> {
    #[cfg(feature = "wgpu")]
    {
        let found = Device::enumerate(burn::tensor::DeviceType::Wgpu).into_vec();
        let count = found.len();
        return found
            .into_iter()
            .nth(index)
            .ok_or_else(|| DevicesError::OutOfRange {
                spec: spec.to_string(),
                found: count,
                last: count.saturating_sub(1),
            });
    }
    Err(BackendError::NotCompiled(Backend::Wgpu.feature()).into())
}

impl fmt::Display for DeviceList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_steps_follow_burns_split() {
        assert_eq!(shares(10, 3), [3, 3, 4]);
        assert_eq!(shares(7, 1), [7]);
        let list = DeviceList {
            backend: Backend::Flex,
            devices: vec![Device::flex(), Device::flex()],
            names: vec!["flex".into(), "flex".into()],
        };
        // 512 images on 2 devices, batch 32: 8 steps of 2 batches.
        assert_eq!(list.steps_per_epoch(512, 32), 8);
        assert_eq!(list.batches_per_epoch(512, 32), 16);
        // 101 images: shares 50 and 51, batch 10: 6 steps, 5 + 6 batches.
        assert_eq!(list.steps_per_epoch(101, 10), 6);
        assert_eq!(list.batches_per_epoch(101, 10), 11);
    }

    #[test]
    fn bad_lists_name_the_problem() {
        let error = |text: &str, backend| DeviceList::parse(text, backend).unwrap_err();
        assert_eq!(error(" , ", None), DevicesError::Empty);
        assert_eq!(
            error("flex,cuda", None),
            DevicesError::Unknown("cuda".into())
        );
        assert_eq!(
            error("flex,wgpu", None),
            DevicesError::Mixed(Backend::Flex, Backend::Wgpu)
        );
        assert_eq!(
            error("flex:1", None),
            DevicesError::IndexOnCpu("flex:1".into(), Backend::Flex)
        );
        assert_eq!(
            error("wgpu:x", None),
            DevicesError::BadIndex("wgpu:x".into())
        );
        assert_eq!(
            error("wgpu:0,wgpu:0", None),
            DevicesError::Duplicate("wgpu:0".into())
        );
        assert_eq!(
            error("flex,flex", Some(Backend::Wgpu)),
            DevicesError::Conflict(Backend::Wgpu, Backend::Flex)
        );
        let list = DeviceList::parse("flex, flex", Some(Backend::Flex)).unwrap();
        assert_eq!(
            (list.devices.len(), list.to_string()),
            (2, "flex, flex".into())
        );
    }
}
