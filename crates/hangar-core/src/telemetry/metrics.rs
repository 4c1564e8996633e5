use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::process::ProcessCollector;

/// Content type of the OpenMetrics text format.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Content type of the classic Prometheus text format (version 0.0.4).
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The exposition formats `/metrics` can answer in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsFormat {
    /// OpenMetrics 1.0 text, what Prometheus asks for first.
    OpenMetrics,
    /// Prometheus text 0.0.4, for clients that do not ask for OpenMetrics
    /// (curl, `promtool check metrics`, older scrapers).
    Prometheus,
}

impl MetricsFormat {
    /// Picks the format from an HTTP `Accept` header.
    pub fn negotiate(accept: Option<&str>) -> Self {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Self::OpenMetrics,
            _ => Self::Prometheus,
        }
    }

    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Self::Prometheus => PROMETHEUS_CONTENT_TYPE,
        }
    }
}

/// The registry every crate adds its metrics to at start-up, frozen before serving.
#[derive(Debug)]
pub struct MetricsRegistry {
    registry: Registry,
}

impl MetricsRegistry {
    /// A registry holding the build info and the process collector.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let build_info = Family::<Vec<(&'static str, &'static str)>, Gauge>::default();
        build_info
            .get_or_create(&vec![("version", env!("CARGO_PKG_VERSION"))])
            .set(1);
        registry.register(
            "hangar_build_info",
            "Hangar build; the value is always 1",
            build_info,
        );
        registry.register_collector(Box::new(ProcessCollector));
        Self { registry }
    }

    /// Where crates register their metrics; names carry their full `hangar_` prefix.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Freezes the registry for serving.
    pub fn freeze(self) -> Arc<Registry> {
        Arc::new(self.registry)
    }
}

impl Default for MetricsRegistry {
    fn default() -> Self {
        Self::new()
    }
}

/// Renders a registry in the chosen format.
pub fn encode_metrics(registry: &Registry, format: MetricsFormat) -> String {
    let mut out = String::with_capacity(8 * 1024);
    // Writing into a String cannot fail.
    let _ = encode(&mut out, registry);
    match format {
        MetricsFormat::OpenMetrics => out,
        MetricsFormat::Prometheus => openmetrics_to_prometheus(&out),
    }
}

/// Rewrites OpenMetrics text as Prometheus text 0.0.4. The two differ, for what
/// `prometheus-client` writes, in three ways: a counter's `HELP` and `TYPE` lines
/// name the family without `_total` while its samples carry it; `# UNIT` lines;
/// and the closing `# EOF`. Left as OpenMetrics, a 0.0.4 parser sees counters
/// without help text (prometheus/client_rust#51).
fn openmetrics_to_prometheus(text: &str) -> String {
    let counters: std::collections::HashSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let rewritten = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match rewritten {
            Some(line) => out.push_str(&line),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use prometheus_client::metrics::counter::Counter;

    use super::*;

    #[test]
    fn prometheus_text_names_counter_families_with_total_and_drops_openmetrics_lines() {
        let mut metrics = MetricsRegistry::new();
        let counter = Counter::<u64>::default();
        counter.inc();
        metrics
            .registry_mut()
            .register("hangar_things", "Things done", counter);
        let registry = metrics.freeze();

        let open = encode_metrics(&registry, MetricsFormat::OpenMetrics);
        assert!(open.contains("# TYPE hangar_things counter\n"));
        assert!(open.ends_with("# EOF\n"));

        let text = encode_metrics(&registry, MetricsFormat::Prometheus);
        assert!(
            text.contains("# HELP hangar_things_total Things done.\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE hangar_things_total counter\nhangar_things_total 1\n"));
        assert!(
            text.contains("# TYPE process_cpu_seconds_total counter\n"),
            "{text}"
        );
        assert!(!text.contains("# UNIT") && !text.contains("# EOF"));
    }

    #[test]
    fn negotiation_prefers_openmetrics_only_when_asked() {
        let prometheus_scrape =
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
        assert_eq!(
            MetricsFormat::negotiate(Some(prometheus_scrape)),
            MetricsFormat::OpenMetrics
        );
        assert_eq!(
            MetricsFormat::negotiate(Some("*/*")),
            MetricsFormat::Prometheus
        );
        assert_eq!(MetricsFormat::negotiate(None), MetricsFormat::Prometheus);
    }
}
