//! A small convolutional image classifier: the reference that judges a conditional VAE's
//! samples (does a sample drawn for class `c` look like a `c`?) and the baseline of the
//! semi-supervised and augmentation experiments.
//!
//! Two 3×3 convolutions (padding 1), each followed by ReLU and 2×2 max pooling, then a dense
//! ReLU layer, dropout (while training, with `dropout` > 0) and a linear layer to the class
//! logits: the Keras MNIST CNN's shape, which reaches about 99 % test accuracy on MNIST in a few
//! epochs.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::error::VaeError;
use crate::networks::ImageShape;

/// Configuration of a [`Classifier`].
#[derive(Config, Debug)]
pub struct ClassifierConfig {
    /// The input images' shape (flat rows of `image.elements()` values are reshaped to it).
    pub image: ImageShape,
    /// Number of classes.
    pub classes: usize,
    /// Output channels of the two convolutions.
    #[config(default = "[32, 64]")]
    pub channels: [usize; 2],
    /// Width of the dense layer.
    #[config(default = 128)]
    pub hidden: usize,
    /// The probability of zeroing each dense unit while training (on an autodiff device);
    /// 0 turns dropout off. Keras's MNIST CNN uses 0.5.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl ClassifierConfig {
    /// Checks every size: at least one class, non-zero widths, and an image of at least 4×4
    /// (two poolings).
    pub fn validate(&self) -> Result<(), VaeError> {
        let sizes = [
            ("classes", self.classes),
            ("channels[0]", self.channels[0]),
            ("channels[1]", self.channels[1]),
            ("hidden", self.hidden),
            ("image.channels", self.image.channels),
        ];
        for (field, value) in sizes {
            if value == 0 {
                return Err(VaeError::ZeroSize {
                    field: format!("classifier.{field}"),
                    value,
                });
            }
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(VaeError::InvalidNetwork(format!(
                "classifier.dropout is {}, but it must be in [0, 1) (0.5 is usual, 0 turns it off)",
                self.dropout
            )));
        }
        if self.image.height < 4 || self.image.width < 4 {
            return Err(VaeError::InvalidNetwork(format!(
                "the classifier pools twice by 2, so it needs images of at least 4x4 pixels, but \
                 the image is {}x{}",
                self.image.height, self.image.width
            )));
        }
        Ok(())
    }

    /// The classifier on `device`, or the first rule the config breaks.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::ImageShape;
    /// use vae_model::applications::ClassifierConfig;
    ///
    /// let device = Device::flex();
    /// // MNIST: 28x28 images, 10 classes, the default widths.
    /// let mnist = ClassifierConfig::new(ImageShape::new(1, 28, 28), 10);
    /// assert!(mnist.try_init(&device).is_ok());
    /// // Two 2x2 poolings need at least 4x4 pixels.
    /// let tiny = ClassifierConfig::new(ImageShape::new(1, 3, 3), 10);
    /// assert!(tiny.try_init(&device).unwrap_err().to_string().contains("at least 4x4"));
    /// ```
    pub fn try_init(&self, device: &Device) -> Result<Classifier, VaeError> {
        self.validate()?;
        let conv = |input, output| {
            Conv2dConfig::new([input, output], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        let [first, second] = self.channels;
        let flat = second * (self.image.height / 4) * (self.image.width / 4);
        Ok(Classifier {
            first: conv(self.image.channels, first),
            second: conv(first, second),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            hidden: LinearConfig::new(flat, self.hidden).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            output: LinearConfig::new(self.hidden, self.classes).init(device),
            image: [self.image.channels, self.image.height, self.image.width],
        })
    }
}

/// A small CNN classifier over flat image rows (see the module docs).
#[derive(Module, Debug)]
pub struct Classifier {
    first: Conv2d,
    second: Conv2d,
    pool: MaxPool2d,
    hidden: Linear,
    dropout: Dropout,
    output: Linear,
    image: [usize; 3],
}

impl Classifier {
    /// Class logits.
    ///
    /// # Shapes
    /// - x: `[batch, channels * height * width]`, intensities in `[0, 1]`
    /// - output: `[batch, classes]`
    ///
    /// ```
    /// # use burn::prelude::*;
    /// # use burn::tensor::Distribution;
    /// # use vae_model::ImageShape;
    /// # use vae_model::applications::ClassifierConfig;
    /// # let device = Device::flex();
    /// let image = ImageShape::new(1, 8, 8);
    /// let config = ClassifierConfig::new(image, 3).with_channels([4, 8]).with_hidden(16);
    /// let classifier = config.try_init(&device).unwrap();
    /// let x = Tensor::<2>::random([5, 64], Distribution::Default, &device);
    /// let logits = classifier.forward(x);
    /// assert_eq!(logits.dims(), [5, 3]);
    /// ```
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let [batch, _] = x.dims();
        let [channels, height, width] = self.image;
        let x = x.reshape([batch, channels, height, width]);
        let x = self.pool.forward(relu(self.first.forward(x)));
        let x = self.pool.forward(relu(self.second.forward(x)));
        let x = x.flatten::<2>(1, 3);
        let x = self.dropout.forward(relu(self.hidden.forward(x)));
        self.output.forward(x)
    }

    /// The mean cross-entropy of the batch against its labels (class indices), `[1]`.
    ///
    /// # Shapes
    /// - x: `[batch, features]`; labels: `[batch]`
    ///
    /// ```
    /// # use burn::prelude::*;
    /// # use burn::tensor::Distribution;
    /// # use vae_model::ImageShape;
    /// # use vae_model::applications::ClassifierConfig;
    /// # let device = Device::flex();
    /// let image = ImageShape::new(1, 8, 8);
    /// let config = ClassifierConfig::new(image, 3).with_channels([4, 8]).with_hidden(16);
    /// let classifier = config.try_init(&device).unwrap();
    /// let x = Tensor::<2>::random([5, 64], Distribution::Default, &device);
    /// let labels = Tensor::<1, Int>::from_ints([0, 2, 1, 1, 0], &device);
    /// let loss = classifier.loss(x, labels);
    /// assert_eq!(loss.dims(), [1]);
    /// let loss = loss.into_scalar::<f32>();
    /// assert!(loss.is_finite() && loss > 0.0); // a cross-entropy, in nats
    /// ```
    pub fn loss(&self, x: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
        let logits = self.forward(x);
        CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits, labels)
    }

    /// The most likely class of each row.
    ///
    /// # Shapes
    /// - x: `[batch, features]`; output: `[batch]`
    ///
    /// ```
    /// # use burn::prelude::*;
    /// # use burn::tensor::Distribution;
    /// # use vae_model::ImageShape;
    /// # use vae_model::applications::ClassifierConfig;
    /// # let device = Device::flex();
    /// let image = ImageShape::new(1, 8, 8);
    /// let config = ClassifierConfig::new(image, 3).with_channels([4, 8]).with_hidden(16);
    /// let classifier = config.try_init(&device).unwrap();
    /// let x = Tensor::<2>::random([5, 64], Distribution::Default, &device);
    /// let classes = classifier.predict(x.clone());
    /// assert_eq!(classes.dims(), [5]);
    /// // The argmax of the logits: one class index in 0..3 per row.
    /// let expected = classifier.forward(x).argmax(1).reshape([5]);
    /// assert_eq!(classes.clone().into_data(), expected.into_data());
    /// let classes = classes.into_data().convert::<i64>().to_vec::<i64>().unwrap();
    /// assert!(classes.iter().all(|c| (0..3).contains(c)));
    /// ```
    pub fn predict(&self, x: Tensor<2>) -> Tensor<1, Int> {
        self.forward(x).argmax(1).squeeze_dim::<1>(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ClassifierConfig {
        ClassifierConfig::new(
            ImageShape {
                channels: 1,
                height: 8,
                width: 8,
            },
            3,
        )
        .with_channels([4, 6])
        .with_hidden(5)
    }

    #[test]
    fn logits_have_one_column_per_class_and_predictions_are_their_argmax() {
        let device = Device::flex();
        let classifier = config().try_init(&device).unwrap();
        let x = Tensor::<2>::random([7, 64], burn::tensor::Distribution::Default, &device);
        let logits = classifier.forward(x.clone());
        assert_eq!(logits.dims(), [7, 3]);
        let logits = logits.into_data().try_to_vec::<f32>().unwrap();
        let predicted = classifier.predict(x).into_data().convert::<i64>();
        for (row, &class) in predicted.as_slice::<i64>().unwrap().iter().enumerate() {
            let row = &logits[row * 3..row * 3 + 3];
            let best = row[class as usize];
            assert!(row.iter().all(|&v| v <= best));
        }
    }

    #[test]
    fn dropout_acts_while_training_only_and_is_checked() {
        let device = Device::flex();
        let x = Tensor::<2>::random([6, 64], burn::tensor::Distribution::Default, &device);
        let logits = |classifier: &Classifier, x: Tensor<2>| {
            classifier
                .forward(x)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        let training = device.clone().autodiff();
        // 64 hidden units: with `config()`'s 5, every unit can be dead (ReLU at 0) for all six
        // images now and then, and dropout then has nothing to drop.
        let classifier = config()
            .with_hidden(64)
            .with_dropout(0.5)
            .try_init(&training)
            .unwrap();
        let x_training = x.clone().to_device(&training);
        assert_ne!(
            logits(&classifier, x_training.clone()),
            logits(&classifier, x_training),
            "two training passes with dropout drew the same mask"
        );
        let inference = classifier.valid();
        assert_eq!(logits(&inference, x.clone()), logits(&inference, x));

        let error = config().with_dropout(1.0).try_init(&device).unwrap_err();
        assert!(error.to_string().contains("classifier.dropout"), "{error}");
    }

    #[test]
    fn the_loss_is_the_cross_entropy_of_the_logits() {
        let device = Device::flex();
        let classifier = config().try_init(&device).unwrap();
        let x = Tensor::<2>::random([4, 64], burn::tensor::Distribution::Default, &device);
        let labels = [0i64, 2, 1, 2];
        let loss = classifier
            .loss(
                x.clone(),
                Tensor::from_data(TensorData::new(labels.to_vec(), [4]), &device),
            )
            .into_scalar::<f64>();
        let logits = classifier
            .forward(x)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let mut expected = 0.0;
        for (row, &label) in labels.iter().enumerate() {
            let row: Vec<f64> = logits[row * 3..row * 3 + 3]
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            let log_sum = row.iter().map(|v| v.exp()).sum::<f64>().ln();
            expected += log_sum - row[label as usize];
        }
        expected /= 4.0;
        assert!((loss - expected).abs() < 1e-5, "{loss} vs {expected}");
    }

    #[test]
    fn bad_sizes_are_named() {
        let mut zero = config();
        zero.classes = 0;
        let zero = zero.validate().unwrap_err();
        assert!(zero.to_string().contains("classifier.classes"), "{zero}");
        let mut small = config();
        small.image.height = 3;
        let small = small.validate().unwrap_err();
        assert!(small.to_string().contains("at least 4x4"), "{small}");
    }
}
