//! Blocking HTTP on loopback for the runner (the simulator's control and signed endpoints, the
//! stages' `/metrics`), on Njord's own client: no proxy, every request bounded.

use njord::venue::{blocking_runtime, http_client, request_error};
use std::time::Duration;

/// One client and the runtime that drives it.
pub struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    pub fn new(timeout: Duration) -> Result<Http, String> {
        Ok(Http {
            rt: blocking_runtime()?,
            client: http_client(timeout)?,
        })
    }

    /// `(status, body)` of `method url`, with a JSON `body` when given.
    pub fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> Result<(u16, String), String> {
        let what = format!("{method} {}", url.split('?').next().unwrap_or(url));
        self.rt.block_on(async {
            let mut req = self.client.request(method, url);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some(b) = body {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(b);
            }
            let fail = |e| format!("{what}: {}", request_error(e));
            let resp = req.send().await.map_err(fail)?;
            let status = resp.status().as_u16();
            Ok((status, resp.text().await.map_err(fail)?))
        })
    }
}
