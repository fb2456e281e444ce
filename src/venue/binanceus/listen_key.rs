//! Listen keys of the user data stream: created once per stream session, kept alive on a
//! timer (the venue expires them after 60 minutes).

use super::rest_client::{Auth, RestClient};
use super::wire::text;
use crate::broker::BrokerError;

impl RestClient {
    /// Creates a user-data-stream listen key.
    pub async fn create_listen_key(&self) -> Result<String, BrokerError> {
        let v = self
            .request(
                reqwest::Method::POST,
                "/api/v3/userDataStream",
                &[],
                Auth::Key,
                true,
            )
            .await?;
        let k = text(&v, "listenKey");
        if k.is_empty() {
            return Err(BrokerError::Protocol {
                endpoint: "POST /api/v3/userDataStream".into(),
                msg: "no listenKey".into(),
            });
        }
        Ok(k)
    }

    /// Keeps a listen key alive; `-1125` (unknown key) comes back as a venue error.
    pub async fn keepalive_listen_key(&self, key: &str) -> Result<(), BrokerError> {
        self.request(
            reqwest::Method::PUT,
            "/api/v3/userDataStream",
            &[("listenKey", key)],
            Auth::Key,
            true,
        )
        .await
        .map(|_| ())
    }
}
