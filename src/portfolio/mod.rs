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
    let file: PortfolioFile = crate::config::load_yaml(path)?;
    PortfolioEngine::new(file.portfolio).map_err(|e| format!("{}: {e}", path.display()))
}
