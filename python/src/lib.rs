//! `njord._native`: the Rust half of the `njord` Python module. The Python half
//! (`njord/__init__.py`) turns what these functions return into pyarrow tables.
//!
//! Every function releases the GIL while Njord works, and every failure is an `njord.NjordError`
//! carrying the message the command-line tools print.

use clap::Parser;
use njord::research::export::{self, Format, Options, Target};
use njord::research::read;
use njord::research::schema::{RecordKind, Ty};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::PathBuf;

create_exception!(_native, NjordError, PyException, "An error Njord reports.");

fn err(e: impl std::fmt::Display) -> PyErr {
    NjordError::new_err(e.to_string())
}

/// Journals, Parquet or Arrow files (paths, directories, patterns) as one Arrow IPC stream of
/// their events, `kind` only when given; bad lines are an error naming each.
#[pyfunction]
#[pyo3(signature = (paths, kind=None, float64=false))]
fn read_ipc<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
    kind: Option<String>,
    float64: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let only = match kind {
        Some(k) => Some(RecordKind::parse(&k).ok_or_else(|| err(format!("unknown kind `{k}`")))?),
        None => None,
    };
    let stream = py.detach(|| -> Result<Vec<u8>, String> {
        let series = njord::journal::resolve(&paths).map_err(|e| e.to_string())?;
        let mut bad = Vec::new();
        let opts = Options {
            format: Format::Arrow,
            target: Target::Memory,
            float64,
            only,
        };
        let summary = export::export(&series, &opts, &mut |e| bad.push(e.to_string()))
            .map_err(|e| e.to_string())?;
        if !bad.is_empty() {
            return Err(bad.join("\n"));
        }
        Ok(summary.stream)
    });
    Ok(PyBytes::new(py, &stream.map_err(err)?))
}

/// The files `paths` resolve to, in the order [`read_ipc`] reads them, when every one is a
/// Parquet or Arrow file (by its magic bytes, as the readers tell them apart); `None`
/// otherwise. `njord.read` reads such files directly with pyarrow.
#[pyfunction]
fn columnar_files(py: Python<'_>, paths: Vec<PathBuf>) -> PyResult<Option<Vec<PathBuf>>> {
    use std::io::Read;
    py.detach(|| -> Result<Option<Vec<PathBuf>>, String> {
        let series = njord::journal::resolve(&paths).map_err(|e| e.to_string())?;
        let mut files = Vec::new();
        for f in series.into_iter().flat_map(|s| s.files) {
            let mut head = Vec::with_capacity(read::MAGIC_LEN);
            std::fs::File::open(&f)
                .and_then(|file| file.take(read::MAGIC_LEN as u64).read_to_end(&mut head))
                .map_err(|e| format!("{}: {e}", f.display()))?;
            if read::sniff(&head).is_none() {
                return Ok(None);
            }
            files.push(f);
        }
        Ok(Some(files))
    })
    .map_err(err)
}

/// A column as `(name, type, required)`.
type ColumnSpec = (&'static str, &'static str, bool);

/// A kind's columns in the order Njord lays them out, and the column that orders its rows
/// (its event time).
#[pyfunction]
fn kind_layout(kind: &str) -> PyResult<(Vec<ColumnSpec>, &'static str)> {
    let k = RecordKind::parse(kind).ok_or_else(|| err(format!("unknown kind `{kind}`")))?;
    let cols = k
        .columns()
        .iter()
        .map(|c| {
            let ty = match c.ty {
                Ty::Time => "time",
                Ty::Decimal => "decimal",
                Ty::Text => "text",
                Ty::Label => "label",
                Ty::Int => "int",
                Ty::UInt => "uint",
                Ty::Bool => "bool",
                Ty::Json => "json",
            };
            (c.name, ty, c.required)
        })
        .collect();
    Ok((cols, k.time_column()))
}

/// Runs `njord-backtest` with these arguments (the first is the program name), in process.
#[pyfunction]
fn backtest_cli(py: Python<'_>, args: Vec<String>) -> PyResult<()> {
    py.detach(|| -> Result<(), String> {
        let cli = njord::cli::backtest::Cli::try_parse_from(&args).map_err(|e| e.to_string())?;
        njord::cli::backtest::run(cli).map_err(|e| e.to_string())
    })
    .map_err(err)
}

/// The strategies file at `path` with `params` (`key=value` or `id.key=value`) set, as text:
/// the values `njord-backtest sweep --param` would set for one trial.
#[pyfunction]
fn strategies_with(path: PathBuf, params: Vec<String>) -> PyResult<String> {
    use njord::backtest::sweep;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
    let axes = params
        .iter()
        .map(|p| sweep::parse_axis(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    if let Some(a) = axes.iter().find(|a| a.values.len() != 1) {
        return Err(err(format!(
            "`{}` has {} values ({}): a backtest takes one, njord.sweep takes several",
            a.key,
            a.values.len(),
            a.shown.join(", ")
        )));
    }
    let combo = vec![0; axes.len()];
    sweep::apply(
        &text,
        &axes,
        &combo,
        &njord::strategy::registry::Registry::builtin(),
    )
    .map_err(err)
}

/// The long names of `njord-backtest`'s own options, `-` as `_` (`equity_interval`, `from`):
/// keyword arguments of `njord.backtest` with these names are run options, the rest strategy
/// parameters.
#[pyfunction]
fn run_options() -> Vec<String> {
    use clap::CommandFactory;
    njord::cli::backtest::Cli::command()
        .get_arguments()
        .filter_map(|a| a.get_long())
        .map(|l| l.replace('-', "_"))
        .collect()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("NjordError", m.py().get_type::<NjordError>())?;
    m.add_function(wrap_pyfunction!(read_ipc, m)?)?;
    m.add_function(wrap_pyfunction!(columnar_files, m)?)?;
    m.add_function(wrap_pyfunction!(kind_layout, m)?)?;
    m.add_function(wrap_pyfunction!(backtest_cli, m)?)?;
    m.add_function(wrap_pyfunction!(run_options, m)?)?;
    m.add_function(wrap_pyfunction!(strategies_with, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("SCHEMA_VERSION", njord::research::schema::SCHEMA_VERSION)?;
    Ok(())
}
