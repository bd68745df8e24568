//! The tensor names and layouts a weights file may use, and the table that maps Burn's
//! parameter paths to PyTorch's `examples/vae` names.

use std::fmt;

/// How a weights file names its tensors (and so, which layout its linear weights have).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// Burn's module paths, e.g. `encoder.body.layers.0.weight`.
    Burn,
    /// The attribute names of PyTorch's `examples/vae` `VAE` class: `fc1.weight`, ...
    PytorchExamplesVae,
}

impl fmt::Display for Naming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Burn => "Burn",
            Self::PytorchExamplesVae => "PyTorch examples/vae",
        })
    }
}

/// Burn module path prefix -> PyTorch `examples/vae` module name.
pub(crate) const EXAMPLES_VAE: [(&str, &str); 5] = [
    ("encoder.body.layers.0", "fc1"),
    ("encoder.mean", "fc21"),
    ("encoder.log_var", "fc22"),
    ("decoder.body.layers.0", "fc3"),
    ("decoder.output", "fc4"),
];

impl Naming {
    /// A stable identifier for files' metadata and `import.json`: `burn` or
    /// `pytorch-examples-vae`.
    pub fn id(self) -> &'static str {
        match self {
            Self::Burn => "burn",
            Self::PytorchExamplesVae => "pytorch-examples-vae",
        }
    }

    /// The name of the model's tensor `path` in a file of this naming, if it has one.
    pub(crate) fn file_key(self, path: &str) -> Option<String> {
        match self {
            Self::Burn => Some(path.to_owned()),
            Self::PytorchExamplesVae => EXAMPLES_VAE.iter().find_map(|(burn, torch)| {
                let rest = path.strip_prefix(burn)?.strip_prefix('.')?;
                matches!(rest, "weight" | "bias").then(|| format!("{torch}.{rest}"))
            }),
        }
    }

    /// The naming a file's keys use: PyTorch's when any key belongs to one of its modules
    /// (`fc1.`, ..., `fc4.`), so that a file missing some of them is still reported in its own
    /// names.
    pub(crate) fn detect<'a>(mut keys: impl Iterator<Item = &'a String>) -> Self {
        let pytorch = |key: &str| {
            EXAMPLES_VAE.iter().any(|(_, torch)| {
                key.strip_prefix(torch)
                    .is_some_and(|rest| rest.starts_with('.'))
            })
        };
        if keys.any(|key| pytorch(key)) {
            Self::PytorchExamplesVae
        } else {
            Self::Burn
        }
    }

    /// `(regex, replacement)` pairs that turn Burn's paths into this naming's keys (saving).
    pub(crate) fn save_patterns(self) -> Vec<(String, String)> {
        match self {
            Self::Burn => Vec::new(),
            Self::PytorchExamplesVae => EXAMPLES_VAE
                .iter()
                .map(|(burn, torch)| (format!("^{}\\.", regex_escape(burn)), format!("{torch}.")))
                .collect(),
        }
    }

    /// `(regex, replacement)` pairs that turn this naming's keys into Burn's paths (loading).
    pub(crate) fn load_patterns(self) -> Vec<(String, String)> {
        match self {
            Self::Burn => Vec::new(),
            Self::PytorchExamplesVae => EXAMPLES_VAE
                .iter()
                .map(|(burn, torch)| (format!("^{torch}\\."), format!("{burn}.")))
                .collect(),
        }
    }
}

pub(crate) fn regex_escape(text: &str) -> String {
    text.replace('.', "\\.")
}

/// The shape a tensor has in a file: PyTorch's layout stores linear weights (the rank-2
/// `weight`s of every shipped network) as `[out, in]`, Burn's as `[in, out]`.
pub(crate) fn file_shape(path: &str, shape: &[usize], pytorch_layout: bool) -> Vec<usize> {
    let mut shape = shape.to_vec();
    if pytorch_layout && shape.len() == 2 && path.rsplit('.').next() == Some("weight") {
        shape.reverse();
    }
    shape
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_vae_names_map_both_ways() {
        let naming = Naming::PytorchExamplesVae;
        assert_eq!(
            naming.file_key("encoder.body.layers.0.weight").as_deref(),
            Some("fc1.weight")
        );
        assert_eq!(
            naming.file_key("decoder.output.bias").as_deref(),
            Some("fc4.bias")
        );
        assert_eq!(naming.file_key("encoder.body.layers.1.weight"), None);
        assert_eq!(naming.file_key("likelihood.Gaussian.log_sigma"), None);
        assert_eq!(naming.file_key("encoder.meanx.weight"), None);
        assert_eq!(Naming::Burn.file_key("a.b").as_deref(), Some("a.b"));
        let there = naming.save_patterns();
        let back = naming.load_patterns();
        assert_eq!(there.len(), 5);
        assert_eq!(
            back[2],
            ("^fc22\\.".to_owned(), "encoder.log_var.".to_owned())
        );
        assert_eq!(there[0].0, "^encoder\\.body\\.layers\\.0\\.");
    }

    #[test]
    fn naming_is_detected_from_keys() {
        let torch = ["fc4.bias".to_owned(), "fc3.weight".to_owned()];
        let burn = ["encoder.mean.weight".to_owned()];
        assert_eq!(Naming::detect(torch.iter()), Naming::PytorchExamplesVae);
        assert_eq!(Naming::detect(burn.iter()), Naming::Burn);
        let lookalike = ["fc10.weight".to_owned(), "fc1x.bias".to_owned()];
        assert_eq!(Naming::detect(lookalike.iter()), Naming::Burn);
    }

    #[test]
    fn pytorch_layout_reverses_linear_weights_only() {
        assert_eq!(file_shape("fc1.weight", &[784, 400], true), vec![400, 784]);
        assert_eq!(file_shape("fc1.weight", &[784, 400], false), vec![784, 400]);
        assert_eq!(file_shape("fc1.bias", &[400], true), vec![400]);
        assert_eq!(
            file_shape("conv.weight", &[8, 1, 3, 3], true),
            vec![8, 1, 3, 3]
        );
    }
}
