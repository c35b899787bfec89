//! The monitoring that ships in `deploy/`: the alert rules pass `promtool`'s checks and their own
//! unit tests (`rules.test.yml`), the dashboard names its datasource by the provisioned uid, and,
//! against a real Prometheus (Debian's `prometheus`) scraping a node that proves through a
//! fleet, every dashboard query returns a value and every rule is evaluated without error and
//! stays quiet while the rollup is healthy.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{free_port, key};
use crate::fleet::Fleet;

/// The repository's `deploy/` folder.
fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("deploy")
}

/// A program of Debian's `prometheus` package (`promtool`, `prometheus`): on PATH, or in
/// `ZKROLLUP_PROMETHEUS_BIN`.
fn prometheus_program(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("ZKROLLUP_PROMETHEUS_BIN") {
        return Path::new(&dir).join(name);
    }
    std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| p.is_file()))
        .unwrap_or_else(|| panic!("{name} is not installed: `apt-get install prometheus` (.ci/run does), or set ZKROLLUP_PROMETHEUS_BIN"))
}

/// `promtool ARGS` in `deploy/prometheus`: its output, asserting success.
fn promtool(args: &[&str]) -> String {
    let out = Command::new(prometheus_program("promtool")).args(args).current_dir(deploy_dir().join("prometheus")).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "promtool {args:?}: {text}");
    text
}

#[test]
fn the_alert_rules_pass_promtool_and_their_unit_tests() {
    let checked = promtool(&["check", "rules", "rules.yml"]);
    assert!(checked.contains("SUCCESS: 11 rules found"), "{checked}");
    promtool(&["test", "rules", "rules.test.yml"]);
    // Every alert has a unit test, a severity and a runbook section.
    let rules = std::fs::read_to_string(deploy_dir().join("prometheus/rules.yml")).unwrap();
    let tests = std::fs::read_to_string(deploy_dir().join("prometheus/rules.test.yml")).unwrap();
    let runbook = std::fs::read_to_string(deploy_dir().parent().unwrap().join("docs/runbook.md")).unwrap();
    for alert in rules.lines().filter_map(|l| l.trim().strip_prefix("- alert: ")) {
        assert!(tests.contains(&format!("alertname: {alert}")), "{alert} has no promtool test");
        assert!(runbook.contains(&format!("## {alert}")), "{alert} has no runbook section");
        assert!(rules.contains(&format!("runbook: docs/runbook.md#{}", alert.to_lowercase())), "{alert} names no runbook");
    }
}

/// Every query of the dashboard, with the panel it belongs to.
fn dashboard_queries() -> Vec<(String, String)> {
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(deploy_dir().join("grafana/dashboards/zkrollup.json")).unwrap()).unwrap();
    let provisioned = std::fs::read_to_string(deploy_dir().join("grafana/provisioning/datasources/prometheus.yml")).unwrap();
    assert_eq!(dashboard["uid"], "zkrollup-rollup", "a fixed uid: links to it survive a re-provisioning");
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        let title = panel["title"].as_str().unwrap();
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "panel {title} has no query");
        for t in targets {
            let uid = t["datasource"]["uid"].as_str().unwrap();
            assert!(provisioned.contains(&format!("uid: {uid}")), "panel {title}: datasource {uid} is not the provisioned one");
            queries.push((title.to_string(), t["expr"].as_str().unwrap().to_string()));
        }
    }
    queries
}

/// A Prometheus server on loopback, killed when dropped.
struct Prometheus {
    child: Child,
    api: PrometheusApi,
    _dir: tempfile::TempDir,
}

/// A Prometheus server's HTTP API.
pub struct PrometheusApi {
    /// `http://HOST:PORT`.
    pub url: String,
}

impl Prometheus {
    /// Scraping `target` (host:port) as the stack's job `zkrollup-node`, every second, with the
    /// stack's rules evaluated every second.
    fn start(target: &str) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let rules = deploy_dir().join("prometheus/rules.yml");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: zkrollup-node\n    static_configs:\n      - targets: [\"{target}\"]\n",
            rules.display()
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let port = free_port();
        let child = Command::new(prometheus_program("prometheus"))
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Prometheus { child, api: PrometheusApi { url: format!("http://127.0.0.1:{port}") }, _dir: dir }
    }
}

impl PrometheusApi {
    /// `GET /api/v1/PATH?query=...`'s `data` (None until the server answers success).
    pub fn api(&self, path: &str, query: Option<&str>) -> Option<Value> {
        let mut r = ureq::get(&format!("{}/api/v1/{path}", self.url));
        if let Some(q) = query {
            r = r.query("query", q);
        }
        let mut answer = r.call().ok()?;
        let v: Value = answer.body_mut().read_json().ok()?;
        (v["status"] == "success").then(|| v["data"].clone())
    }

    /// The finite values of an instant query's result (empty: no series, or only NaN).
    pub fn values(&self, query: &str) -> Vec<f64> {
        let Some(data) = self.api("query", Some(query)) else { return vec![] };
        data["result"]
            .as_array()
            .map(|r| r.iter().filter_map(|s| s["value"][1].as_str()?.parse::<f64>().ok()).filter(|v| v.is_finite()).collect())
            .unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_live_prometheus_answers_every_dashboard_query_and_evaluates_every_rule() {
    let fleet = Fleet::start();
    let _worker = fleet.worker("w1", 30);
    let target = fleet.node.url.trim_start_matches("http://").to_string();
    let prometheus = Prometheus::start(&target);
    let start = Instant::now();
    while prometheus.api.values("up{job=\"zkrollup-node\"} == 1").is_empty() {
        assert!(start.elapsed() < Duration::from_secs(120), "Prometheus never scraped the node");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Traffic after the first scrape, so that every rate sees it; and one refusal (a nonce
    // from the future), which the refusals' series needs.
    let refused = fleet.node.transfer(&key(1), 1, 2, 1, 99).unwrap_err();
    assert_eq!(refused["status"].as_u64(), Some(422), "{refused}");
    let traffic = fleet.traffic(2, 100);
    fleet.finish(traffic, 2);

    check_live(&prometheus.api, Duration::from_secs(300));
}

/// Against a live Prometheus that scrapes a node that has settled traffic: every dashboard
/// query returns a finite value, and every rule is loaded, evaluated without error and not
/// firing (within `limit`).
pub fn check_live(prometheus: &PrometheusApi, limit: Duration) {
    let queries = dashboard_queries();
    let start = Instant::now();
    let mut empty: Vec<&(String, String)> = queries.iter().collect();
    while !empty.is_empty() {
        empty.retain(|(_, q)| prometheus.values(q).is_empty());
        assert!(start.elapsed() < limit, "queries without a value: {empty:?}");
        std::thread::sleep(Duration::from_millis(500));
    }

    // Every rule loaded and evaluated without error, none firing on a healthy rollup.
    let groups = loop {
        let g = prometheus.api("rules", None).map(|d| d["groups"].clone()).unwrap_or_default();
        let evaluated = g.as_array().is_some_and(|g| {
            g.iter().flat_map(|g| g["rules"].as_array().unwrap().iter()).all(|r| r["lastEvaluation"].as_str().is_some_and(|t| !t.starts_with("0001")))
        });
        if evaluated {
            break g;
        }
        assert!(start.elapsed() < limit, "the rules were never evaluated: {g}");
        std::thread::sleep(Duration::from_millis(500));
    };
    let rules: Vec<&Value> = groups.as_array().unwrap().iter().flat_map(|g| g["rules"].as_array().unwrap().iter()).collect();
    assert_eq!(rules.len(), 11, "{groups}");
    for r in rules {
        assert_eq!(r["health"], "ok", "{r}");
        assert_ne!(r["state"], "firing", "{r}");
    }
}
