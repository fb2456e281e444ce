//! The ONNX-ML tree ensembles, as tract runs them.
//!
//! tract 0.23 parses `TreeEnsembleClassifier` but not `TreeEnsembleRegressor`, which skl2onnx
//! writes for every scikit-learn tree regressor. [`tree_regressor`] fills that gap: it reads the
//! operator's attributes into tract's own [`TreeEnsemble`] and wires the same typed evaluation op
//! that tract's classifier uses, plus the base values; no tree is evaluated here (`walk` then
//! replaces that op with a faster one on the same data).
//!
//! tract evaluates an ensemble with unchecked indexing and follows child links until it reaches
//! a leaf, trusting the file. [`parse_ensemble`] checks what that relies on (every child inside
//! its tree and after its parent, every vote on a leaf of an output that exists), and
//! [`check_graph`] runs it on both ensemble operators before tract reads them: a malformed file is
//! refused instead of reading out of bounds or looping for ever.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::{GraphProto, NodeProto};
use tract_onnx::tract_hir::internal::*;
use tract_onnx_opl::ml::tree::{Aggregate, Cmp, TreeEnsemble, TreeEnsembleData};
use tract_onnx_opl::ml::tree_ensemble_classifier::{TreeEnsembleClassifier, parse_aggregate};

/// Makes skl2onnx's binary classifiers readable by tract: with a single score (every vote for
/// class 0, which onnxruntime and tract read as the positive class's score) skl2onnx writes one
/// base value, while tract wants one per class label. The second column is the unused one, so it
/// gets a base of 0; the sum is unchanged.
pub(crate) fn pad_binary_base_values(graph: &mut GraphProto) -> TractResult<()> {
    for node in graph
        .node
        .iter_mut()
        .filter(|n| n.op_type == "TreeEnsembleClassifier")
    {
        let single_score = class_count(node)? == 2
            && node
                .get_attr_opt_vec::<i64>("class_ids")?
                .is_some_and(|ids| ids.iter().all(|&c| c == 0));
        if let Some(base) = node.attribute.iter_mut().find(|a| a.name == "base_values")
            && single_score
            && base.floats.len() == 1
        {
            base.floats.push(0.0);
        }
    }
    Ok(())
}

/// Checks every tree ensemble of `graph` (see the module documentation).
pub(crate) fn check_graph(graph: &GraphProto) -> TractResult<()> {
    for node in &graph.node {
        match node.op_type.as_str() {
            "TreeEnsembleRegressor" => {
                parse_ensemble(node, "target", node.get_attr("n_targets")?, Aggregate::Sum)?;
            }
            "TreeEnsembleClassifier" => {
                parse_ensemble(node, "class", class_count(node)?, Aggregate::Sum)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn class_count(node: &NodeProto) -> TractResult<usize> {
    let ints = node
        .get_attr_opt_slice::<i64>("classlabels_int64s")?
        .map(<[i64]>::len);
    let strings = node
        .get_attr_opt_tvec::<&str>("classlabels_strings")?
        .map(|s| s.len());
    ints.or(strings)
        .context("TreeEnsembleClassifier without classlabels_int64s or classlabels_strings")
}

/// The parser tract's ONNX register calls for a `TreeEnsembleRegressor` node.
pub(crate) fn tree_regressor(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let targets: usize = node.get_attr("n_targets")?;
    let aggregate = parse_aggregate(node.get_attr_opt("aggregate_function")?.unwrap_or("SUM"))?;
    let post_transform: &str = node.get_attr_opt("post_transform")?.unwrap_or("NONE");
    node.expect_attr("post_transform", post_transform == "NONE", "NONE")?;
    let base_values = match node.get_attr_opt_vec::<f32>("base_values")? {
        Some(base) => {
            node.expect_attr("base_values", base.len() == targets, "one value per target")?;
            Some(tensor1(&base).into_shape(&[1, targets])?.into_arc_tensor())
        }
        None => None,
    };
    let ensemble = parse_ensemble(node, "target", targets, aggregate)?;
    Ok((
        expand(TreeEnsembleRegressor {
            ensemble,
            targets,
            base_values,
        }),
        vec![],
    ))
}

#[derive(Debug, Clone, Hash)]
struct TreeEnsembleRegressor {
    ensemble: TreeEnsemble,
    targets: usize,
    /// [1, targets], added to the trees' aggregate.
    base_values: Option<Arc<Tensor>>,
}

impl Expansion for TreeEnsembleRegressor {
    fn name(&self) -> StaticName {
        "TreeEnsembleRegressor".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, DatumType::F32)?;
        s.equals(&inputs[0].rank, 2)?;
        s.equals(&outputs[0].rank, 2)?;
        s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
        s.equals(&outputs[0].shape[1], self.targets.to_dim())?;
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        // tract's typed classifier op is the bare ensemble: [N, features] in, the aggregated
        // leaf weights [N, outputs] out, which for a regressor are the predictions.
        let mut scores = model.wire_node(
            format!("{prefix}.trees"),
            TreeEnsembleClassifier {
                ensemble: self.ensemble.clone(),
            },
            inputs,
        )?;
        if let Some(base) = &self.base_values {
            let base = model.add_const(format!("{prefix}.base_values"), base.clone())?;
            scores = model.wire_node(
                format!("{prefix}.plus_base"),
                tract_onnx::tract_core::ops::math::add(),
                &[scores[0], base],
            )?;
        }
        Ok(scores)
    }
}

fn node_mode(mode: &str) -> TractResult<Option<Cmp>> {
    Ok(Some(match mode {
        "BRANCH_LEQ" => Cmp::LessEqual,
        "BRANCH_LT" => Cmp::Less,
        "BRANCH_GTE" => Cmp::GreaterEqual,
        "BRANCH_GT" => Cmp::Greater,
        "BRANCH_EQ" => Cmp::Equal,
        "BRANCH_NEQ" => Cmp::NotEqual,
        "LEAF" => return Ok(None),
        _ => bail!("unsupported tree node mode {mode}"),
    }))
}

/// The ensemble of a `TreeEnsembleRegressor` (`leaf_prefix` "target") or of a
/// `TreeEnsembleClassifier` ("class") with `outputs` targets or classes, in tract's layout, once
/// checked: trees numbered 0, 1, 2… and their nodes too, each child after its parent and inside
/// its tree, each vote on a leaf and for an output below `outputs`.
fn parse_ensemble(
    node: &NodeProto,
    leaf_prefix: &str,
    outputs: usize,
    aggregate: Aggregate,
) -> TractResult<TreeEnsemble> {
    let tree_ids = node.get_attr_vec::<usize>("nodes_treeids")?;
    let n = tree_ids.len();
    node.expect_attr("nodes_treeids", n > 0, "at least one node")?;
    let per_node = |name: &str| -> TractResult<Vec<usize>> {
        let v = node.get_attr_vec::<usize>(name)?;
        node.expect_attr(name, v.len() == n, "one entry per node")?;
        Ok(v)
    };
    let node_ids = per_node("nodes_nodeids")?;
    let features = per_node("nodes_featureids")?;
    let true_ids = per_node("nodes_truenodeids")?;
    let false_ids = per_node("nodes_falsenodeids")?;
    let values = node.get_attr_opt_vec::<f32>("nodes_values")?.context(
        "the tree thresholds are not in nodes_values (float): export the model for float32 inputs",
    )?;
    node.expect_attr("nodes_values", values.len() == n, "one entry per node")?;
    let modes = node.get_attr_vec::<&str>("nodes_modes")?;
    node.expect_attr("nodes_modes", modes.len() == n, "one entry per node")?;
    let nan_true = node
        .get_attr_opt_vec::<bool>("nodes_missing_value_tracks_true")?
        .unwrap_or_else(|| vec![false; n]);
    node.expect_attr(
        "nodes_missing_value_tracks_true",
        nan_true.len() == n,
        "one per node",
    )?;

    let leaf_attr = |name: &str| format!("{leaf_prefix}_{name}");
    let leaf_trees = node.get_attr_vec::<usize>(&leaf_attr("treeids"))?;
    let votes = leaf_trees.len();
    let per_vote = |name: &str| -> TractResult<Vec<usize>> {
        let v = node.get_attr_vec::<usize>(&leaf_attr(name))?;
        node.expect_attr(
            &leaf_attr(name),
            v.len() == votes,
            "one entry per leaf vote",
        )?;
        Ok(v)
    };
    let leaf_nodes = per_vote("nodeids")?;
    let leaf_outputs = per_vote("ids")?;
    let leaf_weights = node.get_attr_vec::<f32>(&leaf_attr("weights"))?;
    node.expect_attr(
        &leaf_attr("weights"),
        leaf_weights.len() == votes,
        "one per leaf vote",
    )?;
    node.expect_attr(
        &leaf_attr("ids"),
        leaf_outputs.iter().all(|&o| o < outputs),
        || format!("ids below the {outputs} outputs"),
    )?;

    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (tree_ids[i], node_ids[i]));
    let mut vote_order: Vec<usize> = (0..votes).collect();
    vote_order.sort_by_key(|&v| (leaf_trees[v], leaf_nodes[v]));

    // The first row of each tree: with nodes numbered 0, 1, 2… a node's row is its tree's first
    // row plus its id.
    let mut starts: Vec<usize> = Vec::new();
    for (row, &i) in order.iter().enumerate() {
        let (tree, id) = (tree_ids[i], node_ids[i]);
        if id == 0 {
            node.expect(tree == starts.len(), || {
                format!("tree {tree} after tree {}", starts.len())
            })?;
            starts.push(row);
        } else {
            node.expect(starts.len() == tree + 1 && row - starts[tree] == id, || {
                format!("the nodes of tree {tree} to be numbered 0, 1, 2…")
            })?;
        }
    }

    let mut rows: Vec<u32> = Vec::with_capacity(n * 5);
    let mut leaves: Vec<u32> = Vec::with_capacity(votes * 2);
    let mut next_vote = 0;
    let mut max_feature = 0;
    for &i in &order {
        let (tree, id) = (tree_ids[i], node_ids[i]);
        let start = starts[tree];
        let size = starts.get(tree + 1).copied().unwrap_or(n) - start;
        match node_mode(modes[i])? {
            Some(cmp) => {
                for child in [true_ids[i], false_ids[i]] {
                    node.expect(child > id && child < size, || {
                        format!("node {id} of tree {tree} to point to a later node of its tree")
                    })?;
                }
                max_feature = max_feature.max(features[i]);
                rows.extend([
                    u32::try_from(features[i])?,
                    u32::try_from(start + true_ids[i])?,
                    u32::try_from(start + false_ids[i])?,
                    values[i].to_bits(),
                    (0x0100 * u32::from(nan_true[i])) | cmp as u32,
                ]);
            }
            None => {
                let first = u32::try_from(leaves.len() / 2)?;
                while next_vote < votes
                    && (
                        leaf_trees[vote_order[next_vote]],
                        leaf_nodes[vote_order[next_vote]],
                    ) == (tree, id)
                {
                    let v = vote_order[next_vote];
                    leaves.extend([u32::try_from(leaf_outputs[v])?, leaf_weights[v].to_bits()]);
                    next_vote += 1;
                }
                rows.extend([first, u32::try_from(leaves.len() / 2)?, 0, 0, 0]);
            }
        }
    }
    node.expect(next_vote == votes, || {
        let v = vote_order[next_vote];
        format!(
            "leaf votes on leaves only, not node {} of tree {}",
            leaf_nodes[v], leaf_trees[v]
        )
    })?;

    let trees = starts
        .iter()
        .map(|&s| u32::try_from(s))
        .collect::<Result<Vec<u32>, _>>()?;
    let data = TreeEnsembleData {
        trees: rctensor1(&trees),
        nodes: tensor1(&rows).into_shape(&[n, 5])?.into_arc_tensor(),
        leaves: tensor1(&leaves).into_shape(&[votes, 2])?.into_arc_tensor(),
    };
    TreeEnsemble::build(data, max_feature, outputs, aggregate)
}
