//! Njord's model runtime: ONNX models run in pure Rust, without I/O.
//!
//! A model is a scikit-learn tree ensemble exported with skl2onnx (see docs/models.md): a
//! single-target regressor (`TreeEnsembleRegressor`) or a binary classifier
//! (`TreeEnsembleClassifier`, exported without ZipMap), taking one float32 row of features.
//! [tract](https://github.com/sonos/tract) runs it: [`Model::from_bytes`] checks the file's
//! SHA-256 against the one pinned in config, then parses, types and optimises the graph for one
//! row, once; [`Model::predict`] only evaluates that plan. Two gaps in tract 0.23 are filled:
//! `trees` parses `TreeEnsembleRegressor`, and `walk` evaluates summed tree ensembles in time
//! proportional to their depth (tract's own evaluation grows with the ensemble's size).

mod trees;
mod walk;

use sha2::{Digest, Sha256};
use thiserror::Error;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;
use tract_onnx::tract_hir::internal::DimLike;

/// Why a model was refused or could not be evaluated.
#[derive(Debug, Error)]
pub enum ModelError {
    #[error("the pinned model hash {pinned:?} is not a SHA-256 (64 hexadecimal digits)")]
    BadPinnedHash { pinned: String },
    #[error("model hash mismatch: config pins sha256 {expected}, the model file's is {actual}")]
    HashMismatch { expected: String, actual: String },
    #[error("not an ONNX model: {0}")]
    NotOnnx(String),
    #[error("unsupported model: {0}")]
    Unsupported(String),
    #[error("the model takes {expected} features, got {got}")]
    InputCount { expected: usize, got: usize },
    #[error("model evaluation failed: {0}")]
    Run(String),
}

/// A loaded model, ready to predict one row at a time. It can be shared between threads.
#[derive(Debug)]
pub struct Model {
    plan: Arc<TypedRunnableModel>,
    sha256: String,
    inputs: usize,
    /// The column of the single output row that is the prediction: 0 for a regressor, 1 (the
    /// second class) for a binary classifier's probabilities.
    column: usize,
}

// The strategy that runs a model may hold it in any thread.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Model>();
};

/// tract's error with its causes, on one line.
fn chain(e: &TractError) -> String {
    format!("{e:#}")
}

impl Model {
    /// Loads an ONNX model from its bytes. With `expected_sha256_hex` (as `sha256sum` prints it,
    /// either case), the bytes must hash to it, or the model is refused naming both hashes.
    pub fn from_bytes(
        bytes: &[u8],
        expected_sha256_hex: Option<&str>,
    ) -> Result<Model, ModelError> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        if let Some(pinned) = expected_sha256_hex {
            if pinned.len() != 64 || !pinned.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ModelError::BadPinnedHash {
                    pinned: pinned.to_owned(),
                });
            }
            if !pinned.eq_ignore_ascii_case(&sha256) {
                return Err(ModelError::HashMismatch {
                    expected: pinned.to_ascii_lowercase(),
                    actual: sha256,
                });
            }
        }

        let mut onnx = tract_onnx::onnx();
        onnx.op_register
            .insert("TreeEnsembleRegressor", trees::tree_regressor);
        let mut proto = onnx
            .proto_model_for_read(&mut &*bytes)
            .map_err(|e| ModelError::NotOnnx(chain(&e)))?;
        // Protobuf decodes many byte strings (the empty one among them) as a message: a model
        // must at least have a graph with a node.
        let graph = proto
            .graph
            .as_mut()
            .filter(|g| !g.node.is_empty())
            .ok_or_else(|| ModelError::NotOnnx("no graph with a node in it".into()))?;
        if graph.node.iter().any(|n| n.op_type == "ZipMap") {
            return Err(ModelError::Unsupported(
                "ZipMap (a classifier's probabilities as maps): export the classifier with \
                 options={'zipmap': False}"
                    .into(),
            ));
        }
        let unsupported = |e: TractError| ModelError::Unsupported(chain(&e));
        trees::check_graph(graph).map_err(unsupported)?;
        trees::pad_binary_base_values(graph).map_err(unsupported)?;
        let mut model = onnx.model_for_proto_model(&proto).map_err(unsupported)?;

        let inputs = Self::feature_count(&model)?;
        model
            .set_input_fact(0, f32::fact([1, inputs]).into())
            .map_err(unsupported)?;
        let mut model = model.into_typed().map_err(unsupported)?;
        let (output, column) = Self::prediction_output(&model)?;
        model
            .select_output_outlets(&[output])
            .map_err(unsupported)?;
        walk::speed_up(&mut model).map_err(unsupported)?;
        let plan = model
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(unsupported)?;
        Ok(Model {
            plan,
            sha256,
            inputs,
            column,
        })
    }

    /// The one input: float32 of shape [batch, features], the feature count known.
    fn feature_count(model: &InferenceModel) -> Result<usize, ModelError> {
        let unsupported = |what: String| Err(ModelError::Unsupported(what));
        if model.inputs.len() != 1 {
            return unsupported(format!("{} inputs, not one", model.inputs.len()));
        }
        let fact = model
            .input_fact(0)
            .map_err(|e| ModelError::Unsupported(chain(&e)))?;
        let datum = fact.datum_type.concretize();
        if datum.is_some_and(|d| d != f32::datum_type()) {
            return unsupported(format!(
                "input of type {datum:?}, not float32: export with float32 inputs"
            ));
        }
        let dims: Vec<_> = fact.shape.dims().collect();
        match dims.as_slice() {
            [_, features] if !fact.shape.is_open() => {
                match features.concretize().and_then(|d| d.to_usize().ok()) {
                    Some(n) if n > 0 => Ok(n),
                    _ => unsupported(format!(
                        "input of shape {:?}: unknown feature count",
                        fact.shape
                    )),
                }
            }
            _ => unsupported(format!(
                "input of shape {:?}, not [batch, features]",
                fact.shape
            )),
        }
    }

    /// Which output is the prediction: a regressor's only one, [1, 1], or a classifier's
    /// probabilities, [1, 2], after its labels.
    fn prediction_output(model: &TypedModel) -> Result<(OutletId, usize), ModelError> {
        let outputs = model
            .output_outlets()
            .map_err(|e| ModelError::Unsupported(chain(&e)))?;
        let facts = outputs
            .iter()
            .map(|&o| model.outlet_fact(o))
            .collect::<TractResult<Vec<_>>>()
            .map_err(|e| ModelError::Unsupported(chain(&e)))?;
        let float_row = |fact: &TypedFact, width: usize| {
            fact.datum_type == f32::datum_type() && fact.shape.as_concrete() == Some(&[1, width])
        };
        match facts.as_slice() {
            [only] if float_row(only, 1) => Ok((outputs[0], 0)),
            [_labels, probabilities] if float_row(probabilities, 2) => Ok((outputs[1], 1)),
            _ => Err(ModelError::Unsupported(format!(
                "outputs {}: only a single-target regressor ([N, 1]) or a binary classifier \
                 (labels, then probabilities [N, 2], exported without ZipMap) is supported",
                facts
                    .iter()
                    .map(|f| format!("{f:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The SHA-256 of the model file, in lowercase hexadecimal: what a config pins and a journal
    /// records.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// How many features one row has.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The prediction for one row of [`Model::inputs`] features: a regressor's value, or a binary
    /// classifier's probability of its second class (`classes_[1]` in scikit-learn, the positive
    /// class of 0/1 labels).
    pub fn predict(&self, features: &[f32]) -> Result<f32, ModelError> {
        if features.len() != self.inputs {
            return Err(ModelError::InputCount {
                expected: self.inputs,
                got: features.len(),
            });
        }
        let run = |e: TractError| ModelError::Run(chain(&e));
        let row = Tensor::from_shape(&[1, self.inputs], features).map_err(run)?;
        let outputs = self.plan.run(tvec!(row.into_tvalue())).map_err(run)?;
        let values = outputs[0]
            .try_as_plain_ram()
            .and_then(|v| v.as_slice::<f32>())
            .map_err(run)?;
        Ok(values[self.column])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use tract_onnx::pb::attribute_proto::AttributeType;
    use tract_onnx::pb::tensor_shape_proto::{Dimension, dimension};
    use tract_onnx::pb::{
        AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorShapeProto,
        TypeProto, ValueInfoProto, tensor_proto, type_proto,
    };

    fn ints(name: &str, values: &[i64]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: AttributeType::Ints as i32,
            ints: values.to_vec(),
            ..Default::default()
        }
    }

    fn floats(name: &str, values: &[f32]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: AttributeType::Floats as i32,
            floats: values.to_vec(),
            ..Default::default()
        }
    }

    fn strings(name: &str, values: &[&str]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: AttributeType::Strings as i32,
            strings: values.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ..Default::default()
        }
    }

    fn int(name: &str, value: i64) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: AttributeType::Int as i32,
            i: value,
            ..Default::default()
        }
    }

    fn float_matrix(name: &str, columns: i64) -> ValueInfoProto {
        let dim = |value| Dimension {
            value: Some(value),
            ..Default::default()
        };
        ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                    elem_type: tensor_proto::DataType::Float as i32,
                    shape: Some(TensorShapeProto {
                        dim: vec![
                            dim(dimension::Value::DimParam("N".into())),
                            dim(dimension::Value::DimValue(columns)),
                        ],
                    }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// A model of one node reading 3 features, as skl2onnx lays it out.
    fn model_with(node: NodeProto) -> Vec<u8> {
        let opset = |domain: &str, version| OperatorSetIdProto {
            domain: domain.into(),
            version,
        };
        ModelProto {
            ir_version: 8,
            opset_import: vec![opset("", 17), opset("ai.onnx.ml", 1)],
            graph: Some(GraphProto {
                name: "test".into(),
                node: vec![NodeProto {
                    input: vec!["input".into()],
                    output: vec!["variable".into()],
                    domain: "ai.onnx.ml".into(),
                    ..node
                }],
                input: vec![float_matrix("input", 3)],
                output: vec![float_matrix("variable", 1)],
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec()
    }

    /// One tree: feature 2 <= 0.5 gives 1, else 3; plus a base value of 0.25. `true_ids` are the
    /// three nodes' true branches (0 for the leaves), `vote_nodes` the nodes the two votes are on.
    fn regressor_with(true_ids: [i64; 3], vote_nodes: [i64; 2]) -> Vec<u8> {
        model_with(NodeProto {
            op_type: "TreeEnsembleRegressor".into(),
            attribute: vec![
                int("n_targets", 1),
                floats("base_values", &[0.25]),
                ints("nodes_treeids", &[0, 0, 0]),
                ints("nodes_nodeids", &[0, 1, 2]),
                ints("nodes_featureids", &[2, 0, 0]),
                floats("nodes_values", &[0.5, 0.0, 0.0]),
                strings("nodes_modes", &["BRANCH_LEQ", "LEAF", "LEAF"]),
                ints("nodes_truenodeids", &true_ids),
                ints("nodes_falsenodeids", &[2, 0, 0]),
                ints("target_treeids", &[0, 0]),
                ints("target_nodeids", &vote_nodes),
                ints("target_ids", &[0, 0]),
                floats("target_weights", &[1.0, 3.0]),
            ],
            ..Default::default()
        })
    }

    fn regressor() -> Vec<u8> {
        regressor_with([1, 0, 0], [1, 2])
    }

    fn sha256_hex(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    #[test]
    fn a_regressor_predicts_its_trees_plus_its_base_value() {
        let bytes = regressor();
        let model = Model::from_bytes(&bytes, None).unwrap();
        assert_eq!(model.inputs(), 3);
        assert_eq!(model.sha256(), sha256_hex(&bytes));
        assert_eq!(model.predict(&[9.0, 9.0, 0.5]).unwrap(), 1.25);
        assert_eq!(model.predict(&[0.0, 0.0, 0.6]).unwrap(), 3.25);
        assert_eq!(model.predict(&[0.0, 0.0, -7.0]).unwrap(), 1.25);
        // The trees are walked by njord-model's op, not tract's (see walk.rs).
        let ops: Vec<_> = model
            .plan
            .model()
            .nodes()
            .iter()
            .map(|n| n.op().name())
            .collect();
        assert!(ops.iter().any(|op| op == "SumTrees"), "{ops:?}");
        assert!(
            !ops.iter().any(|op| op == "TreeEnsembleClassifier"),
            "{ops:?}"
        );
    }

    #[test]
    fn the_pinned_hash_is_checked_in_either_case() {
        let bytes = regressor();
        let hash = sha256_hex(&bytes);
        assert!(Model::from_bytes(&bytes, Some(&hash)).is_ok());
        assert!(Model::from_bytes(&bytes, Some(&hash.to_ascii_uppercase())).is_ok());
    }

    #[test]
    fn a_hash_mismatch_is_refused_naming_both_hashes() {
        let bytes = regressor();
        let pinned = "AB".repeat(32);
        let err = Model::from_bytes(&bytes, Some(&pinned)).unwrap_err();
        assert!(matches!(err, ModelError::HashMismatch { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(&"ab".repeat(32)), "{message}");
        assert!(message.contains(&sha256_hex(&bytes)), "{message}");
    }

    #[test]
    fn a_pinned_hash_that_is_no_sha256_is_refused() {
        for pinned in ["", "abc", &"g".repeat(64), &"a".repeat(65)] {
            let err = Model::from_bytes(&regressor(), Some(pinned)).unwrap_err();
            assert!(
                matches!(err, ModelError::BadPinnedHash { .. }),
                "{pinned:?}: {err:?}"
            );
        }
    }

    #[test]
    fn bytes_that_are_no_onnx_model_are_refused() {
        for bytes in [&b""[..], b"garbage, not protobuf \xff\xfe\xfd", b"\x08\x07"] {
            let err = Model::from_bytes(bytes, None).unwrap_err();
            assert!(matches!(err, ModelError::NotOnnx(_)), "{bytes:?}: {err:?}");
            assert!(err.to_string().starts_with("not an ONNX model: "), "{err}");
        }
    }

    #[test]
    fn a_row_of_the_wrong_length_is_refused() {
        let model = Model::from_bytes(&regressor(), None).unwrap();
        for row in [&[][..], &[1.0, 2.0], &[1.0, 2.0, 3.0, 4.0]] {
            let err = model.predict(row).unwrap_err();
            assert!(
                matches!(err, ModelError::InputCount { expected: 3, got } if got == row.len()),
                "{err:?}"
            );
        }
        assert_eq!(
            model.predict(&[1.0; 4]).unwrap_err().to_string(),
            "the model takes 3 features, got 4"
        );
    }

    #[test]
    fn an_unknown_operator_is_refused_with_tracts_message() {
        let bytes = model_with(NodeProto {
            op_type: "Frobnicate".into(),
            ..Default::default()
        });
        let err = Model::from_bytes(&bytes, None).unwrap_err();
        assert!(matches!(err, ModelError::Unsupported(_)), "{err:?}");
        assert!(err.to_string().contains("Frobnicate"), "{err}");
    }

    #[test]
    fn zipmap_is_refused_with_the_export_option_that_avoids_it() {
        let bytes = model_with(NodeProto {
            op_type: "ZipMap".into(),
            ..Default::default()
        });
        let err = Model::from_bytes(&bytes, None).unwrap_err();
        assert!(matches!(err, ModelError::Unsupported(_)), "{err:?}");
        assert!(err.to_string().contains("'zipmap': False"), "{err}");
    }

    #[test]
    fn malformed_trees_are_refused_before_tract_walks_them() {
        // A branch pointing back at itself would loop for ever.
        let err = Model::from_bytes(&regressor_with([0, 0, 0], [1, 2]), None).unwrap_err();
        assert!(
            err.to_string()
                .contains("to point to a later node of its tree"),
            "{err}"
        );
        // ... one past its tree would read out of bounds.
        let err = Model::from_bytes(&regressor_with([3, 0, 0], [1, 2]), None).unwrap_err();
        assert!(
            err.to_string()
                .contains("to point to a later node of its tree"),
            "{err}"
        );
        // A vote on a branch is no leaf's.
        let err = Model::from_bytes(&regressor_with([1, 0, 0], [0, 2]), None).unwrap_err();
        assert!(
            err.to_string().contains("leaf votes on leaves only"),
            "{err}"
        );
    }
}
