//! A test network of hosts on one machine: a bridge on the host (its "switch", with the host's
//! address on it) and each host in its own network namespace, joined to the bridge by a veth
//! pair. Programs run in a host with `ip netns exec`; a host's cable is pulled by taking its
//! veth end on the switch down. Needs root (CAP_NET_ADMIN), as the tests and CI have.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Lans made by this process so far (names and subnets must not clash between tests).
static MADE: AtomicU32 = AtomicU32::new(0);

/// The network; torn down when dropped.
pub struct Lan {
    bridge: String,
    /// The subnet's first three octets.
    prefix: String,
    hosts: Vec<(String, String)>,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("`ip` (iproute2) runs");
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

impl Lan {
    /// A switch and `hosts` hosts on 10.P.Q.0/24: the machine is .1, host i is .(11 + i).
    pub fn new(hosts: usize) -> Lan {
        let pid = std::process::id();
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}{n}", pid % 100_000);
        let prefix = format!("10.{}.{}", 100 + pid % 100, n % 256);
        let mut lan = Lan { bridge: format!("zkb{tag}"), prefix, hosts: Vec::new() };
        ip(&["link", "add", &lan.bridge, "type", "bridge"]);
        ip(&["addr", "add", &format!("{}/24", lan.address()), "dev", &lan.bridge]);
        ip(&["link", "set", &lan.bridge, "up"]);
        for i in 0..hosts {
            let (ns, cable) = (format!("zkrollup-test-{tag}-{i}"), format!("zkv{tag}h{i}"));
            let inside = format!("zkv{tag}n{i}");
            ip(&["netns", "add", &ns]);
            lan.hosts.push((ns.clone(), cable.clone()));
            ip(&["link", "add", &cable, "type", "veth", "peer", "name", &inside]);
            ip(&["link", "set", &inside, "netns", &ns]);
            ip(&["-n", &ns, "link", "set", &inside, "name", "eth0"]);
            ip(&["-n", &ns, "addr", "add", &format!("{}/24", lan.host_address(i)), "dev", "eth0"]);
            ip(&["-n", &ns, "link", "set", "eth0", "up"]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            ip(&["link", "set", &cable, "master", &lan.bridge, "up"]);
        }
        lan
    }

    /// The machine's own address on the network.
    pub fn address(&self) -> String {
        format!("{}.1", self.prefix)
    }

    /// Host i's address.
    pub fn host_address(&self, i: usize) -> String {
        format!("{}.{}", self.prefix, 11 + i)
    }

    /// The subnet, as a CIDR.
    pub fn subnet(&self) -> String {
        format!("{}.0/24", self.prefix)
    }

    /// A command that runs `program` on host i.
    pub fn command(&self, i: usize, program: &std::path::Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.hosts[i].0]).arg(program);
        c
    }

    /// Pull host i's cable (`false`) or plug it back (`true`).
    pub fn plug(&self, i: usize, connected: bool) {
        ip(&["link", "set", &self.hosts[i].1, if connected { "up" } else { "down" }]);
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for (ns, cable) in &self.hosts {
            let _ = Command::new("ip").args(["link", "del", cable]).output();
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        let _ = Command::new("ip").args(["link", "del", &self.bridge]).output();
    }
}
