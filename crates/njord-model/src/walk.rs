//! A faster evaluation of tract's summed tree ensembles.
//!
//! tract's `TreeEnsemble` finds a leaf's votes with `outer_iter().skip(first_vote)` over the
//! ensemble's whole vote array, and ndarray steps such an iterator one row at a time: each tree
//! costs time in proportion to the number of votes before its leaf, so a row costs time in
//! proportion to the ensemble's size, not its depth (about 0.6 ms for 100 trees of depth 3 and 32
//! features, far over the 200 µs budget per event). [`SumTrees`] takes the same data, as tract's
//! parser (or ours, for regressors) laid it out and `trees` checked it, and walks each tree from
//! its root to its leaf, then adds the leaf's votes directly. It replaces tract's op in the typed
//! model for the SUM aggregate, the one skl2onnx writes; AVERAGE, MIN and MAX stay with tract.

use tract_onnx::tract_hir::internal::*;
use tract_onnx_opl::ml::tree::{Aggregate, Cmp, TreeEnsemble};
use tract_onnx_opl::ml::tree_ensemble_classifier::TreeEnsembleClassifier;

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
enum Node {
    Branch {
        feature: u32,
        value: u32,
        cmp: Cmp,
        nan_true: bool,
        yes: u32,
        no: u32,
    },
    Leaf {
        first: u32,
        end: u32,
    },
}

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(crate) struct SumTrees {
    roots: Vec<u32>,
    nodes: Vec<Node>,
    /// (output, weight) of each vote; a leaf's votes are `first..end`.
    votes: Vec<(u32, u32)>,
    outputs: usize,
    max_feature: usize,
}

/// Replaces every summed tree ensemble of `model` by a [`SumTrees`] on the same data.
pub(crate) fn speed_up(model: &mut TypedModel) -> TractResult<()> {
    for id in 0..model.nodes().len() {
        let walk = match model.node(id).op_as::<TreeEnsembleClassifier>() {
            Some(op) if op.ensemble.aggregate_fn == Aggregate::Sum => SumTrees::new(&op.ensemble)?,
            _ => continue,
        };
        model.node_mut(id).op = Box::new(walk);
    }
    Ok(())
}

impl SumTrees {
    fn new(ensemble: &TreeEnsemble) -> TractResult<SumTrees> {
        let data = &ensemble.data;
        let rows = data.nodes.try_as_plain_ram()?.as_slice::<u32>()?.to_vec();
        let nodes = rows
            .chunks_exact(5)
            .map(|row| match Cmp::try_from((row[4] & 0xFF) as u8) {
                Ok(cmp) => Node::Branch {
                    feature: row[0],
                    yes: row[1],
                    no: row[2],
                    value: row[3],
                    cmp,
                    nan_true: row[4] & 0x100 != 0,
                },
                Err(_) => Node::Leaf {
                    first: row[0],
                    end: row[1],
                },
            })
            .collect();
        let votes = data
            .leaves
            .try_as_plain_ram()?
            .as_slice::<u32>()?
            .chunks_exact(2)
            .map(|v| (v[0], v[1]));
        Ok(SumTrees {
            roots: data.trees.try_as_plain_ram()?.as_slice::<u32>()?.to_vec(),
            nodes,
            votes: votes.collect(),
            outputs: ensemble.n_classes,
            max_feature: ensemble.max_used_feature,
        })
    }

    /// Adds every tree's votes for row `x` to `out`. Indexing is checked: the data was checked
    /// when parsed, so a bad index would panic, never read out of bounds.
    fn add_row(&self, x: &[f32], out: &mut [f32]) {
        for &root in &self.roots {
            let mut node = root as usize;
            loop {
                match self.nodes[node] {
                    Node::Branch {
                        feature,
                        value,
                        cmp,
                        nan_true,
                        yes,
                        no,
                    } => {
                        let x = x[feature as usize];
                        let yes_branch = if x.is_nan() {
                            nan_true
                        } else {
                            cmp.compare(x, f32::from_bits(value))
                        };
                        node = if yes_branch { yes } else { no } as usize;
                    }
                    Node::Leaf { first, end } => {
                        for &(output, weight) in &self.votes[first as usize..end as usize] {
                            out[output as usize] += f32::from_bits(weight);
                        }
                        break;
                    }
                }
            }
        }
    }
}

impl Op for SumTrees {
    fn name(&self) -> StaticName {
        "SumTrees".into()
    }

    op_as_typed_op!();
}

impl EvalOp for SumTrees {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let input = input.cast_to::<f32>()?;
        let &[rows, features] = input.shape() else {
            bail!(
                "tree ensemble input of shape {:?}, not [rows, features]",
                input.shape()
            );
        };
        ensure!(
            features > self.max_feature,
            "{features} features, the trees use #{}",
            self.max_feature
        );
        let x = input.try_as_plain_ram()?.as_slice::<f32>()?;
        let mut out = vec![0f32; rows * self.outputs];
        if self.outputs > 0 {
            for (row, scores) in x
                .chunks_exact(features)
                .zip(out.chunks_exact_mut(self.outputs))
            {
                self.add_row(row, scores);
            }
        }
        Ok(tvec!(
            Tensor::from_shape(&[rows, self.outputs], &out)?.into_tvalue()
        ))
    }
}

impl TypedOp for SumTrees {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact(&[
            inputs[0].shape[0].clone(),
            self.outputs.into()
        ])))
    }

    as_op!();
}
