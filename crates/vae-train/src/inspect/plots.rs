//! Line and scatter plots (plotters), with an embedded font (DejaVu Sans) so that text renders
//! on machines without system fonts.

use std::path::Path;
use std::sync::Once;

use crate::inspect::InspectError;
use crate::run::metrics_csv::EpochMetrics;
use plotters::prelude::*;
use plotters::style::FontStyle;

/// Font family name the embedded DejaVu Sans is registered under.
const FONT: &str = "sans-serif";

fn register_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The bytes are a valid TrueType font shipped by the `dejavu` crate.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

/// An [`InspectError::Plot`] for the file `out`.
fn plot_error<E: std::fmt::Debug>(out: &Path) -> impl Fn(E) -> InspectError + '_ {
    move |error| InspectError::Plot {
        path: out.to_owned(),
        message: format!("{error:?}"),
    }
}

/// Two panels: loss and reconstruction (train, valid) per epoch; KL (train, valid) per epoch.
pub fn draw_curves(rows: &[EpochMetrics], out: &Path) -> Result<(), InspectError> {
    register_font();
    let root = BitMapBackend::new(out, (1100, 450)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error(out))?;
    let panels = root.split_evenly((1, 2));
    let last_epoch = rows.iter().map(|r| r.epoch).fold(1.0, f64::max);
    let series = [
        (
            vec![
                (0, "train loss"),
                (3, "valid loss"),
                (1, "train reconstruction"),
                (4, "valid reconstruction"),
            ],
            "negative ELBO and reconstruction (nats per image)",
        ),
        (
            vec![(2, "train KL"), (5, "valid KL")],
            "KL to the prior (nats per image)",
        ),
    ];
    for (panel, (columns, title)) in panels.iter().zip(series) {
        let values = rows
            .iter()
            .flat_map(|r| columns.iter().map(|&(c, _)| r.values[c]));
        let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        let margin = ((high - low) * 0.05).max(1e-3);
        let mut chart = ChartBuilder::on(panel)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(1.0..last_epoch.max(2.0), (low - margin)..(high + margin))
            .map_err(plot_error(out))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .label_style((FONT, 13))
            .draw()
            .map_err(plot_error(out))?;
        for (index, (column, label)) in columns.into_iter().enumerate() {
            let color = Palette99::pick(index).to_rgba();
            let dashed = label.starts_with("valid");
            let points: Vec<(f64, f64)> =
                rows.iter().map(|r| (r.epoch, r.values[column])).collect();
            let style = ShapeStyle::from(color).stroke_width(if dashed { 3 } else { 2 });
            chart
                .draw_series(LineSeries::new(points.clone(), style))
                .map_err(plot_error(out))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 3, color.filled())),
                )
                .map_err(plot_error(out))?;
        }
        chart
            .configure_series_labels()
            .label_font((FONT, 13))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(plot_error(out))?;
    }
    root.present().map_err(plot_error(out))
}

/// Points of a latent scatter: one per test image.
#[derive(Debug, Clone)]
pub struct LatentScatter {
    /// `(x, y)` per image.
    pub points: Vec<(f64, f64)>,
    /// The digit of each image.
    pub labels: Vec<u8>,
    /// What the axes are (latent dimensions or principal components).
    pub axes: String,
}

/// A plane through latent space: the point `(x, y)` is `center + x·axes[0] + y·axes[1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LatentPlane {
    /// The origin, `dim` values.
    pub center: Vec<f64>,
    /// Two orthonormal directions of `dim` values each.
    pub axes: [Vec<f64>; 2],
    /// What the axes are (latent dimensions or principal components).
    pub description: String,
}

impl LatentPlane {
    /// The latent code at `(x, y)`.
    pub fn code(&self, x: f64, y: f64) -> Vec<f64> {
        self.center
            .iter()
            .zip(self.axes[0].iter().zip(&self.axes[1]))
            .map(|(c, (a, b))| c + x * a + y * b)
            .collect()
    }

    /// The coordinates of `code` on the plane (its projection).
    pub fn coordinates(&self, code: &[f64]) -> (f64, f64) {
        let dot = |axis: &[f64]| {
            code.iter()
                .zip(&self.center)
                .zip(axis)
                .map(|((v, c), w)| (v - c) * w)
                .sum::<f64>()
        };
        (dot(&self.axes[0]), dot(&self.axes[1]))
    }
}

/// The plane of posterior means (`rows` of `dim` values): the latent plane itself when
/// `dim == 2`, else the plane of their first two principal components through their mean.
pub fn latent_plane(means: &[f64], dim: usize) -> LatentPlane {
    if dim == 2 {
        return LatentPlane {
            center: vec![0.0; 2],
            axes: [vec![1.0, 0.0], vec![0.0, 1.0]],
            description: "latent dimensions z0 (x) and z1 (y)".into(),
        };
    }
    let count = (means.len() / dim.max(1)).max(1);
    let mut center = vec![0.0; dim];
    for row in means.chunks_exact(dim) {
        for (c, v) in center.iter_mut().zip(row) {
            *c += v / count as f64;
        }
    }
    let mut covariance = vec![0.0; dim * dim];
    for row in means.chunks_exact(dim) {
        for i in 0..dim {
            for j in 0..dim {
                covariance[i * dim + j] +=
                    (row[i] - center[i]) * (row[j] - center[j]) / count as f64;
            }
        }
    }
    let first = top_eigenvector(&covariance, dim);
    // Deflate and take the next direction.
    let lambda = rayleigh(&covariance, &first, dim);
    for i in 0..dim {
        for j in 0..dim {
            covariance[i * dim + j] -= lambda * first[i] * first[j];
        }
    }
    let second = top_eigenvector(&covariance, dim);
    LatentPlane {
        center,
        axes: [first, second],
        description: format!("first two principal components of the {dim}-D posterior means"),
    }
}

/// Projects posterior means (`count` rows of `dim` values) to 2-D: the means themselves when
/// `dim == 2`, else their first two principal components.
pub fn project(means: &[f64], dim: usize, labels: &[u8]) -> LatentScatter {
    let plane = latent_plane(means, dim);
    LatentScatter {
        points: means
            .chunks_exact(dim)
            .map(|row| plane.coordinates(row))
            .collect(),
        labels: labels.to_vec(),
        axes: plane.description,
    }
}

fn rayleigh(matrix: &[f64], v: &[f64], dim: usize) -> f64 {
    (0..dim)
        .map(|i| v[i] * (0..dim).map(|j| matrix[i * dim + j] * v[j]).sum::<f64>())
        .sum()
}

/// Power iteration on a symmetric positive semi-definite matrix.
fn top_eigenvector(matrix: &[f64], dim: usize) -> Vec<f64> {
    let mut v: Vec<f64> = (0..dim).map(|i| 1.0 + i as f64 * 1e-3).collect();
    for _ in 0..500 {
        let next: Vec<f64> = (0..dim)
            .map(|i| (0..dim).map(|j| matrix[i * dim + j] * v[j]).sum())
            .collect();
        let norm = next.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm == 0.0 {
            break;
        }
        v = next.into_iter().map(|x| x / norm).collect();
    }
    v
}

/// Draws the scatter coloured by class, with a legend naming each (`class_names`, indexed by
/// label; the digits for MNIST).
pub fn draw_scatter(
    scatter: &LatentScatter,
    class_names: &[String],
    out: &Path,
) -> Result<(), InspectError> {
    register_font();
    if scatter.points.is_empty() {
        return Err(InspectError::Argument(
            "no points to plot: give at least one test image".into(),
        ));
    }
    let root = BitMapBackend::new(out, (800, 760)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error(out))?;
    let bounds = |pick: fn(&(f64, f64)) -> f64| {
        let (lo, hi) = scatter
            .points
            .iter()
            .map(pick)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        let pad = ((hi - lo) * 0.05).max(1e-3);
        (lo - pad)..(hi + pad)
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "posterior means of {} test images: {}",
                scatter.points.len(),
                scatter.axes
            ),
            (FONT, 15),
        )
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(bounds(|p| p.0), bounds(|p| p.1))
        .map_err(plot_error(out))?;
    chart
        .configure_mesh()
        .label_style((FONT, 13))
        .draw()
        .map_err(plot_error(out))?;
    for (digit, name) in class_names.iter().enumerate() {
        let Ok(digit) = u8::try_from(digit) else {
            break; // labels are bytes: no image has a later class
        };
        let color = Palette99::pick(usize::from(digit)).to_rgba();
        let points: Vec<(f64, f64)> = scatter
            .points
            .iter()
            .zip(&scatter.labels)
            .filter(|(_, label)| **label == digit)
            .map(|(p, _)| *p)
            .collect();
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 2, color.mix(0.6).filled())),
            )
            .map_err(plot_error(out))?
            .label(name.as_str())
            .legend(move |(x, y)| Circle::new((x + 6, y), 5, color.filled()));
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(plot_error(out))?;
    root.present().map_err(plot_error(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_components_find_the_spread_directions() {
        // Points spread along (1, 1, 0) a lot and along (0, 0, 1) a little.
        let mut means = Vec::new();
        for i in 0..50 {
            let t = i as f64 - 25.0;
            let s = if i % 2 == 0 { 0.5 } else { -0.5 };
            means.extend([t, t, s]);
        }
        let scatter = project(&means, 3, &[0; 50]);
        assert_eq!(scatter.points.len(), 50);
        let spread = |f: fn(&(f64, f64)) -> f64| {
            let v: Vec<f64> = scatter.points.iter().map(f).collect();
            v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64
        };
        // First component carries the large spread (variance 2 * 208.25), second the small one.
        assert!(
            (spread(|p| p.0) - 2.0 * 208.25).abs() < 1.0,
            "{}",
            spread(|p| p.0)
        );
        assert!((spread(|p| p.1) - 0.25).abs() < 0.01, "{}", spread(|p| p.1));
    }

    #[test]
    fn curves_and_scatter_render_text_without_system_fonts() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<EpochMetrics> = (1..=3)
            .map(|e| EpochMetrics {
                epoch: e as f64,
                values: [
                    150.0 / e as f64,
                    130.0 / e as f64,
                    20.0,
                    140.0 / e as f64,
                    120.0 / e as f64,
                    21.0,
                ],
                train_seconds: 1.0,
            })
            .collect();
        let curves = dir.path().join("curves.png");
        draw_curves(&rows, &curves).unwrap();
        let image = image::open(&curves).unwrap().to_rgb8();
        assert_eq!(image.dimensions(), (1100, 450));
        // Text and lines leave dark pixels on the white background.
        let dark = image
            .pixels()
            .filter(|p| p.0.iter().all(|&c| c < 80))
            .count();
        assert!(dark > 2000, "almost nothing drawn ({dark} dark pixels)");
    }
}
