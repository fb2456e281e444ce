//! Reading a Njord daemon's `/metrics` back: the samples of the Prometheus text format, for
//! the processes that watch the others (njord-alert's polls, njord-ctl's status). Only
//! Njord's own exposition is read, whose label values hold no quote, brace or comma, so a
//! sample line is `name{labels} value` or `name value`.

/// One sample: its metric name, its label text (`a="1",b="2"`, maybe empty) and its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample<'a> {
    pub name: &'a str,
    pub labels: &'a str,
    pub value: f64,
}

impl<'a> Sample<'a> {
    /// The value of label `key`, if the sample has it.
    pub fn label(&self, key: &str) -> Option<&'a str> {
        self.labels.split(',').find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k == key).then(|| v.trim_matches('"'))
        })
    }
}

/// The samples of an exposition, comments and lines that do not parse skipped.
pub fn samples(text: &str) -> impl Iterator<Item = Sample<'_>> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let value = value.parse().ok()?;
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            Some(Sample {
                name,
                labels,
                value,
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_and_their_labels() {
        let text = "# HELP x y\n\
njord_ws_reconnects_total 3\n\
njord_http_requests_total{endpoint=\"GET /api/v3/depth\",code=\"503\"} 4\n\
njord_build_info{binary=\"njord-risk\",version=\"0.1.0\"} 1\n\
garbage\n{\nx y z\n";
        let all: Vec<Sample> = samples(text).collect();
        assert_eq!(all.len(), 3, "{all:?}");
        assert_eq!(all[0].name, "njord_ws_reconnects_total");
        assert_eq!(all[0].value, 3.0);
        assert_eq!(all[1].label("code"), Some("503"));
        assert_eq!(all[1].label("endpoint"), Some("GET /api/v3/depth"));
        assert_eq!(all[2].label("version"), Some("0.1.0"));
        assert_eq!(all[2].label("nope"), None);
    }
}
