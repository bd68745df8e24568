//! MNIST through Burn's `MnistDataset`, which downloads into `~/.cache/burn-dataset/mnist`.

use burn::data::dataset::Dataset;
use burn::data::dataset::vision::MnistDataset;

use crate::IMAGE_PIXELS;
use crate::error::DataError;
use crate::files::Split;
use crate::kind::DatasetKind;

/// Pixels (`count * 784` bytes) and labels of a split, from Burn's cache or download.
pub(crate) fn load(split: Split) -> Result<(Vec<u8>, Vec<u8>), DataError> {
    let unavailable = |reason: String| DataError::Unavailable {
        dataset: DatasetKind::Mnist,
        reason,
    };
    // Burn's loader panics when the download fails; turn that into an error.
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let loaded = std::panic::catch_unwind(|| match split {
        Split::Train => MnistDataset::train(),
        Split::Test => MnistDataset::test(),
    });
    std::panic::set_hook(previous_hook);
    let dataset = loaded.map_err(|panic| {
        unavailable(format!(
            "no data folder was given and Burn's download failed ({})",
            panic_message(&panic)
        ))
    })?;
    let mut pixels = Vec::with_capacity(dataset.len() * IMAGE_PIXELS);
    let mut labels = Vec::with_capacity(dataset.len());
    for item in dataset.iter() {
        let item =
            item.map_err(|e| unavailable(format!("Burn's MNIST cache could not be read ({e})")))?;
        pixels.extend(item.image.iter().flatten().map(|&p| p as u8));
        labels.push(item.label);
    }
    Ok((pixels, labels))
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let text = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown error");
    if text.contains("dns error") || text.contains("ConnectError") {
        return "could not connect to the download server: no network?".to_string();
    }
    // Burn's loader unwraps long reqwest errors: the start says enough.
    let short: String = text.chars().take(160).collect();
    if short.len() < text.len() {
        format!("{short}...")
    } else {
        short
    }
}
