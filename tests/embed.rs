//! The real embedding model (all-MiniLM-L6-v2, int8 ONNX): loads offline, returns unit vectors
//! of 384 dimensions, deterministically, and places paraphrases closer than unrelated text.

use lore::internals::embed::resolve_model_dir;
use lore::internals::embed::MINILM_DIM;
use lore::internals::vector::dot;
use lore::Embedder;
use lore::OnnxEmbedder;

#[test]
fn real_model_embeds_meaningfully() {
    let model = OnnxEmbedder::load(&resolve_model_dir(None))
        .expect("model present (run scripts/fetch-model.sh)");
    let texts = [
        "Who signs off on large vendor contracts?",
        "Contracts above the threshold are approved by the outside law firm.",
        "The cafeteria serves pizza on Fridays.",
    ];
    let v = model.embed(&texts).unwrap();
    assert_eq!(v.len(), 3);
    for x in &v {
        assert_eq!(x.len(), MINILM_DIM);
        let norm: f32 = x.iter().map(|a| a * a).sum();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    }
    let related = dot(&v[0], &v[1]);
    let unrelated = dot(&v[0], &v[2]);
    assert!(
        related > unrelated + 0.1,
        "related {related} unrelated {unrelated}"
    );

    // Deterministic, and independent of the batch it is in.
    let again = model.embed(&texts[..1]).unwrap();
    for (a, b) in again[0].iter().zip(&v[0]) {
        assert!((a - b).abs() < 1e-5);
    }
}

#[test]
fn the_optimised_graph_gives_the_vectors_of_the_shipped_model() {
    // Sessions run the graph ONNX Runtime optimised once and saved beside the model: its
    // vectors must be the shipped model's, or cached vectors and old indexes would not match.
    let dir = resolve_model_dir(None);
    let full = OnnxEmbedder::load(&dir).expect("model present (run scripts/fetch-model.sh)");
    assert!(
        full.is_optimized(),
        "the optimised graph could not be written into {dir:?}"
    );
    let original = OnnxEmbedder::load_original(&dir).unwrap();
    assert!(!original.is_optimized());
    assert_eq!(original.model_id(), full.model_id());
    let texts = [
        "Who signs off on large vendor contracts?",
        "The Q3 review always moves two weeks early because of the board meeting.",
        "ALDH1 expression is associated with poorer prognosis for breast cancer primary tumors",
    ];
    let a = full.embed(&texts).unwrap();
    let b = original.embed(&texts).unwrap();
    for (x, y) in a.iter().zip(&b) {
        let worst = x
            .iter()
            .zip(y)
            .map(|(p, q)| (p - q).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-6, "largest difference {worst}");
        assert!(dot(x, y) > 0.99999);
    }
}
