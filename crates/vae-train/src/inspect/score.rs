//! `vae score`: per-image anomaly scores of a dataset split under a trained run (the
//! reconstruction error at the posterior mean, the negative ELBO and the negative
//! importance-weighted bound), written as CSV, with the AUROC of each score when the normal
//! classes are named.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use burn::prelude::*;
use vae_model::applications::{AnomalyScore, auroc};

use crate::backend::Backend;
use crate::config::classes_problem_among;
use crate::data::batcher::ImageBatcher;
use crate::data::{DatasetKind, ImageData, ImageFolderConfig, Split, image_shape};
use crate::inspect::sampling::{Sampling, log_importance_weights};
use crate::inspect::{InspectError, read_back};
use crate::run::trained_run::TrainedRun;

/// What `vae score` needs.
#[derive(Debug, Clone)]
pub struct ScoreOptions {
    /// The trained run.
    pub run_dir: PathBuf,
    /// Where the tensors live.
    pub backend: Backend,
    /// Dataset folder (`None`: the dataset's environment variable, then its default source).
    pub data_dir: Option<PathBuf>,
    /// The dataset to score (`None`: the run's own).
    pub dataset: Option<DatasetKind>,
    /// Which split.
    pub split: Split,
    /// Score every image file of this folder instead of a split (`dataset` and `split` are
    /// not used).
    pub folder: Option<PathBuf>,
    /// Importance samples per image, shared by the ELBO and the bound.
    pub samples: usize,
    /// Samples decoded at once per image.
    pub chunk: usize,
    /// Images per batch.
    pub batch_size: usize,
    /// Score only the first N images (`None`: all).
    pub images: Option<usize>,
    /// Seeds the posterior samples.
    pub seed: u64,
    /// The classes that count as normal; the AUROC of each score is reported when given.
    pub normal_classes: Option<Vec<u8>>,
    /// The CSV file to write.
    pub out: PathBuf,
}

/// How well each score separates the normal classes from the rest.
#[derive(Debug, Clone)]
pub struct ScoreAuroc {
    /// The classes counted as normal.
    pub normal: Vec<u8>,
    /// Each score's AUROC, in [`AnomalyScore::ALL`]'s order.
    pub areas: Vec<(AnomalyScore, f64)>,
}

/// What `vae score` did.
#[derive(Debug, Clone)]
pub struct ScoreReport {
    /// The images scored, in words.
    pub data: String,
    /// How many.
    pub images: usize,
    /// Importance samples per image.
    pub samples: usize,
    /// The CSV written.
    pub out: PathBuf,
    /// The normal classes and each score's AUROC (anomalous = any other class), if asked.
    pub auroc: Option<ScoreAuroc>,
    /// Wall-clock seconds of the scoring (data loaded).
    pub seconds: f64,
}

/// The three scores of every image of `data` (with its labels as the condition for a
/// conditional model), in [`AnomalyScore::ALL`]'s order. Seed `device` first for
/// reproducible scores.
pub fn score_images(
    run: &TrainedRun,
    data: &ImageData,
    sampling: Sampling,
    device: &Device,
) -> Result<[Vec<f64>; 3], InspectError> {
    let labels = data.labels();
    let count = labels.len();
    let mut columns: [Vec<f64>; 3] = Default::default();
    for first in (0..count).step_by(sampling.batch_size.max(1)) {
        let last = (first + sampling.batch_size).min(count);
        let x = ImageBatcher::images((first..last).map(|i| data.pixels(i)), device);
        let c = run.condition(&labels[first..last], device);
        let weights = log_importance_weights(&run.model, x.clone(), c.clone(), sampling);
        let scores = run.model.anomaly_scores_from_weights(x, c, weights);
        for (column, score) in columns.iter_mut().zip(AnomalyScore::ALL) {
            let values = read_back(scores.get(score).clone())?;
            column.extend(values.into_iter().map(f64::from));
        }
    }
    Ok(columns)
}

/// Scores every image of the split (or folder) and writes the CSV (`index,`, a `file,` column
/// for a folder's images, `label,`, then one column per [`AnomalyScore`]).
pub fn score(options: &ScoreOptions) -> Result<ScoreReport, InspectError> {
    let device = options.backend.device()?;
    let run = TrainedRun::open(&options.run_dir, &device)?;
    let shape = run.config.image_shape();
    let sampling = Sampling::new(
        options.samples,
        options.chunk,
        options.batch_size,
        shape.elements(),
    )?
    .on_host(options.backend == Backend::Flex);
    let data_dir = options.data_dir.as_deref();
    let data = match (&options.folder, options.dataset) {
        (Some(_), _) if run.is_conditional() => {
            return Err(InspectError::Argument(
                "--folder scores files without the labels a conditional model is given: score \
                 a dataset split of the run instead (leave out --folder)"
                    .into(),
            ));
        }
        (Some(folder), _) if !folder.is_dir() => {
            return Err(InspectError::Argument(format!(
                "--folder {} does not exist or is not a folder: name a folder of PNG/JPEG files \
                 (one subfolder per class gives labels)",
                folder.display()
            )));
        }
        (Some(folder), _) => {
            let mut settings =
                ImageFolderConfig::new(folder, shape.channels, shape.height, shape.width);
            settings.validation_fraction = 0.0;
            settings.load(Split::Train)?
        }
        (None, Some(kind)) => kind.load(options.split, data_dir)?,
        (None, None) => run.config.load_split(options.split, data_dir)?,
    };
    let unlabelled = !data.is_labelled();
    if unlabelled && options.normal_classes.is_some() {
        return Err(InspectError::Argument(
            "--normal-classes needs labels, but the folder has no class subfolders: put the \
             normal images in one subfolder and the others in another, or leave out \
             --normal-classes"
                .into(),
        ));
    }
    if let Some(problem) = options.normal_classes.as_deref().and_then(|classes| {
        classes_problem_among("--normal-classes", classes, data.class_names().len())
    }) {
        return Err(InspectError::Argument(problem));
    }
    if image_shape(&data) != shape {
        return Err(InspectError::Argument(format!(
            "the images to score are {:?} (channels, height, width), but the model takes \
             {}x{}x{}: score a dataset of the model's image size",
            data.shape(),
            shape.channels,
            shape.height,
            shape.width
        )));
    }
    let classes = run.config.classes();
    if run.is_conditional()
        && let Some(&label) = data.labels().iter().find(|&&l| usize::from(l) >= classes)
    {
        return Err(InspectError::Argument(format!(
            "the images to score have label {label}, but this conditional model knows the \
             classes 0..={}: score the run's own dataset (leave out --dataset)",
            classes - 1
        )));
    }
    let mut data = run.config.data_treatment.test_set(data);
    if let Some(count) = options.images {
        if count == 0 {
            return Err(InspectError::Argument(
                "--images is 0: score at least one image".into(),
            ));
        }
        data = data.truncate(count);
    }
    let labels = data.labels().to_vec();
    let count = labels.len();
    device.seed(options.seed);
    let start = Instant::now();
    let columns = score_images(&run, &data, sampling, &device)?;
    let seconds = start.elapsed().as_secs_f64();

    let with_files = data.file(0).is_some();
    let mut csv = String::from(if with_files {
        "index,file,label"
    } else {
        "index,label"
    });
    for score in AnomalyScore::ALL {
        csv.push(',');
        csv.push_str(score.name());
    }
    csv.push('\n');
    for (i, label) in labels.iter().enumerate() {
        let _ = write!(csv, "{i}");
        if let Some(file) = data.file(i) {
            let _ = write!(csv, ",{}", csv_field(&file.display().to_string()));
        }
        if unlabelled {
            csv.push(',');
        } else {
            let _ = write!(csv, ",{label}");
        }
        for column in &columns {
            let _ = write!(csv, ",{}", column[i]);
        }
        csv.push('\n');
    }
    std::fs::write(&options.out, csv).map_err(|source| InspectError::WriteFile {
        path: options.out.clone(),
        source,
    })?;

    let auroc = match &options.normal_classes {
        None => None,
        Some(normal) => {
            let anomalous: Vec<bool> = labels.iter().map(|l| !normal.contains(l)).collect();
            let areas = AnomalyScore::ALL
                .into_iter()
                .zip(&columns)
                .map(|(score, column)| Ok((score, auroc(column, &anomalous)?)))
                .collect::<Result<Vec<_>, InspectError>>()?;
            Some(ScoreAuroc {
                normal: normal.clone(),
                areas,
            })
        }
    };
    let split = match (&options.folder, options.dataset) {
        (Some(folder), _) => format!("every image of folder {}", folder.display()),
        (None, Some(kind)) => crate::config::TrainingConfig::default()
            .with_dataset(kind)
            .describe_split(options.split),
        (None, None) => run.config.describe_split(options.split),
    };
    Ok(ScoreReport {
        data: format!("{split}, {}", run.config.data_treatment.describe_test_set()),
        images: count,
        samples: options.samples,
        out: options.out.clone(),
        auroc,
        seconds,
    })
}

/// `text` as one CSV field: quoted, with quotes doubled, when it holds a comma, a quote or a
/// line break (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

impl std::fmt::Display for ScoreReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "data: {}", self.data)?;
        writeln!(
            f,
            "scored {} images with {} posterior samples each in {:.1} s; wrote {}",
            self.images,
            self.samples,
            self.seconds,
            self.out.display()
        )?;
        if let Some(ScoreAuroc { normal, areas }) = &self.auroc {
            let normal: Vec<String> = normal.iter().map(u8::to_string).collect();
            writeln!(
                f,
                "normal: class {}; anomalous: every other class",
                normal.join(", ")
            )?;
            writeln!(f, "| score | AUROC |")?;
            writeln!(f, "| --- | ---: |")?;
            for (score, area) in areas {
                writeln!(f, "| {} | {area:.4} |", score.name())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("runs/a.png"), "runs/a.png");
        assert_eq!(csv_field("cats, dogs/1.png"), "\"cats, dogs/1.png\"");
        assert_eq!(csv_field("say \"hi\".png"), "\"say \"\"hi\"\".png\"");
    }
}
