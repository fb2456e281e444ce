//! The installation's Ed25519 key: a 0600 file holding the 32-byte seed as 64 hex digits,
//! and the message a checkpoint signs.

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// What a checkpoint signs: the chain's name and the head it closes (seq and hash).
pub fn checkpoint_message(chain: &str, seq: u64, hash: &str) -> String {
    format!("njord-audit checkpoint v1\n{chain}\n{seq}\n{hash}")
}

/// A loaded secret key and its public half in hex.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    pub public_hex: String,
}

impl SigningKey {
    /// Reads a key file; refuses one that others can read, as ssh does.
    pub fn load(path: &Path) -> Result<SigningKey, String> {
        let shown = path.display();
        let meta = std::fs::metadata(path).map_err(|e| format!("audit key {shown}: {e}"))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "audit key {shown} is readable by others (mode {mode:o}); chmod 600 it"
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| format!("audit key {shown}: {e}"))?;
        let seed = hex::decode(text.trim())
            .ok()
            .filter(|s| s.len() == 32)
            .ok_or_else(|| format!("audit key {shown}: not 64 hex digits (an Ed25519 seed)"))?;
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|e| format!("audit key {shown}: {e}"))?;
        let public_hex = hex::encode(pair.public_key().as_ref());
        Ok(SigningKey { pair, public_hex })
    }

    /// The signature of `msg`, in hex.
    pub fn sign(&self, msg: &str) -> String {
        hex::encode(self.pair.sign(msg.as_bytes()).as_ref())
    }
}

/// Writes a new key to `path` (mode 0600, never over an existing file) and returns its public
/// key in hex.
pub fn generate(path: &Path) -> Result<String, String> {
    use std::io::Write as _;
    let mut seed = [0u8; 32];
    aws_lc_rs::rand::fill(&mut seed).map_err(|e| format!("no randomness: {e}"))?;
    let pair = Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|e| e.to_string())?;
    let shown = path.display();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{shown}: {e}"))?;
    f.write_all(format!("{}\n", hex::encode(seed)).as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("{shown}: {e}"))?;
    Ok(hex::encode(pair.public_key().as_ref()))
}

/// Whether `sig_hex` is `public_hex`'s signature of `msg`.
pub fn verify_signature(public_hex: &str, msg: &str, sig_hex: &str) -> bool {
    let (Ok(pk), Ok(sig)) = (hex::decode(public_hex), hex::decode(sig_hex)) else {
        return false;
    };
    UnparsedPublicKey::new(&ED25519, pk)
        .verify(msg.as_bytes(), &sig)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_signs_what_its_public_key_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.key");
        let public = generate(&path).unwrap();
        assert!(generate(&path).is_err(), "never over an existing key");
        let key = SigningKey::load(&path).unwrap();
        assert_eq!(key.public_hex, public);
        let msg = checkpoint_message("njord-risk", 7, &"ab".repeat(32));
        let sig = key.sign(&msg);
        assert!(verify_signature(&public, &msg, &sig));
        assert!(!verify_signature(&public, &msg.replace('7', "8"), &sig));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = SigningKey::load(&path).err().unwrap();
        assert!(e.contains("chmod 600"), "{e}");
    }
}
