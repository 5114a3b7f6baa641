//! The real embedding model (all-MiniLM-L6-v2, int8 ONNX): loads offline, returns unit vectors
//! of 384 dimensions, deterministically, and places paraphrases closer than unrelated text.

use lore::internals::embed::resolve_model_dir;
use lore::internals::embed::MINILM_DIM;
use lore::internals::vector::dot;
use lore::Embedder;
use lore::{OnnxEmbedder, QueryPrecision};

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

#[test]
fn queries_embed_by_the_int8_graph_close_to_the_f32_one_and_only_for_its_own_model() {
    let dir = resolve_model_dir(None);
    let int8 = OnnxEmbedder::load_for_queries(&dir, QueryPrecision::Int8, 1, None)
        .expect("model present (run scripts/fetch-model.sh)");
    assert!(
        int8.is_int8(),
        "scripts/fetch-model.sh derives query-int8.onnx into {dir:?}"
    );
    let full = OnnxEmbedder::load_for_queries(&dir, QueryPrecision::Full, 1, None).unwrap();
    assert!(!full.is_int8() && full.is_optimized());
    // Same model, so an index built with the f32 graph is searched with the int8 one.
    assert_eq!(int8.model_id(), full.model_id());
    let queries = [
        "who signs off on vendor contracts over $50K?",
        "when does the Q3 review move",
        "ALDH1 expression is associated with poorer prognosis for breast cancer primary tumors",
        "what did the team decide about the remote control's battery",
    ];
    let a = int8.embed(&queries).unwrap();
    let b = full.embed(&queries).unwrap();
    let documents = OnnxEmbedder::load(&dir).unwrap().embed(&queries).unwrap();
    for ((x, y), d) in a.iter().zip(&b).zip(&documents) {
        let norm: f32 = x.iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
        let cos = dot(x, y);
        assert!(
            cos > 0.98 && cos < 0.99999,
            "cosine {cos}: not the int8 graph, or a bad one"
        );
        // Full precision is exactly how documents are embedded.
        assert_eq!(y, d);
    }

    // A query graph made from another model.onnx is not used.
    let other = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, other.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(other.path().join("query-int8.source"), "0".repeat(64)).unwrap();
    let stale =
        OnnxEmbedder::load_for_queries(other.path(), QueryPrecision::Int8, 1, None).unwrap();
    assert!(!stale.is_int8());
}
