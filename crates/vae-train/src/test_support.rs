//! What the unit tests of several modules share.

/// `a` and `b` agree within `tolerance` of `b`'s largest magnitude (and have the same length).
pub fn assert_close(a: Vec<f32>, b: Vec<f32>, tolerance: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= tolerance * scale,
        "{what}: off by {worst} (scale {scale})"
    );
}
