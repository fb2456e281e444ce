//! The portfolio allocator: the pure core ([`PortfolioEngine`] and the allocation math, from
//! the core crate), the loader of `config/portfolio.yaml`, and the stage ([`stage`]).

pub use njord_core::portfolio::*;

pub mod stage;

use engine::PortfolioEngine;
use settings::PortfolioFile;
use std::path::Path;

/// The default portfolio file.
pub const DEFAULT_PATH: &str = "config/portfolio.yaml";

/// Reads and checks a portfolio file; errors name the file and the key.
pub fn load(path: &Path) -> Result<PortfolioEngine, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let tree: serde_json::Value =
        serde_saphyr::from_str(&text).map_err(|e| format!("{shown}: not valid YAML: {e}"))?;
    let file: PortfolioFile = serde_path_to_error::deserialize(&tree).map_err(|e| {
        let key = e.path().to_string();
        format!("{shown}: key `{key}`: {}", e.into_inner())
    })?;
    PortfolioEngine::new(file.portfolio).map_err(|e| format!("{shown}: {e}"))
}
