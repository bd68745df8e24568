//! The training data loader, made resumable: epoch `e`'s batch order and random numbers are the
//! same whether the run got to `e` in one go or was resumed from a checkpoint.
//!
//! Burn's shuffling loader draws each epoch's order from one generator that advances epoch by
//! epoch, and the CPU backends' random numbers (the reparameterization noise) come from one
//! global generator that is never reseeded. A resumed run would start both afresh. This wrapper
//!
//! - on [`DataLoader::to_device`] (called once by the Learner before training) replays the
//!   shuffles of the epochs already done, so the next epoch gets the next order, and
//! - on each [`DataLoader::iter`] (once per epoch, right before its first step) reseeds the
//!   device from `(seed, epoch)`.
//!
//! Epoch 1 is seeded with `seed` itself, as a run that only calls `device.seed(seed)` would be.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::data::dataloader::{DataLoader, DataLoaderIterator};
use burn::prelude::*;

/// The device seed of `epoch` (from 1) in a run seeded with `seed`.
pub fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    // An odd constant (2^64 / golden ratio) keeps distinct epochs on distinct seeds.
    seed.wrapping_add(
        (epoch as u64)
            .wrapping_sub(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15),
    )
}

/// Wraps the training loader; see the module documentation.
pub struct ResumableLoader<O> {
    inner: Arc<dyn DataLoader<O>>,
    device: Device,
    seed: u64,
    /// Epochs already completed before this process started.
    done: usize,
    /// The epoch the next `iter()` serves.
    next_epoch: AtomicUsize,
}

impl<O> ResumableLoader<O> {
    /// `inner` must shuffle with `seed`; `done` epochs are already complete (0 for a new run).
    pub fn new(inner: Arc<dyn DataLoader<O>>, device: Device, seed: u64, done: usize) -> Self {
        Self {
            inner,
            device,
            seed,
            done,
            next_epoch: AtomicUsize::new(done + 1),
        }
    }
}

impl<O: Send + 'static> DataLoader<O> for ResumableLoader<O> {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<O> + 'a> {
        let epoch = self.next_epoch.fetch_add(1, Ordering::SeqCst);
        self.device.seed(epoch_seed(self.seed, epoch));
        self.inner.iter()
    }

    fn num_items(&self) -> usize {
        self.inner.num_items()
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<O>> {
        let inner = self.inner.to_device(device);
        // Each `iter()` of Burn's loader shuffles (eagerly, indices only) and advances its
        // generator; batches are only built when iterated.
        for _ in 0..self.done {
            drop(inner.iter());
        }
        Arc::new(Self {
            inner,
            device: device.clone(),
            seed: self.seed,
            done: 0, // replayed above
            next_epoch: AtomicUsize::new(self.done + 1),
        })
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<O>> {
        Arc::new(Self {
            inner: self.inner.slice(start, end),
            device: self.device.clone(),
            seed: self.seed,
            done: self.done,
            next_epoch: AtomicUsize::new(self.next_epoch.load(Ordering::SeqCst)),
        })
    }
}

#[cfg(test)]
mod tests {
    use burn::data::dataloader::DataLoaderBuilder;
    use burn::data::dataloader::batcher::Batcher;
    use burn::data::dataset::InMemDataset;

    use super::*;

    #[derive(Clone, Debug)]
    struct Ids;

    impl Batcher<usize, Vec<usize>> for Ids {
        fn batch(&self, items: Vec<usize>, _device: &Device) -> Vec<usize> {
            items
        }
    }

    fn orders(done: usize, epochs: usize) -> Vec<Vec<usize>> {
        let loader = DataLoaderBuilder::new(Ids)
            .batch_size(4)
            .shuffle(7)
            .build(InMemDataset::new((0..12).collect::<Vec<_>>()));
        let device = Device::flex();
        let resumable = ResumableLoader::new(loader, device.clone(), 7, done).to_device(&device);
        (0..epochs)
            .map(|_| {
                resumable
                    .iter()
                    .flat_map(|batch| batch.unwrap())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn a_resumed_loader_serves_the_orders_of_the_later_epochs() {
        let full = orders(0, 4);
        assert_ne!(full[0], full[1], "epochs are shuffled differently");
        assert_eq!(orders(2, 2), full[2..].to_vec());
    }

    #[test]
    fn epoch_one_uses_the_seed_itself() {
        assert_eq!(epoch_seed(42, 1), 42);
        assert_ne!(epoch_seed(42, 2), epoch_seed(42, 3));
    }
}
