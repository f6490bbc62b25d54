//! `reef sim serve`: a simulated cluster that the real kubectl drives, whose workloads roll
//! out, and whose state survives a restart.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reef_testkit::{find_executable, missing_peer};

use crate::harness::REEF;

struct Sim(Child);

impl Sim {
    fn start(kubeconfig: &Path, data: &Path) -> Sim {
        let _ = std::fs::remove_file(kubeconfig);
        let child = Command::new(REEF)
            .args(["sim", "serve", "--nodes", "2", "--pod-ready-delay-ms", "100", "--kubeconfig"])
            .arg(kubeconfig)
            .arg("--data-dir")
            .arg(data)
            .stdout(Stdio::null())
            .spawn()
            .expect("starting reef sim serve");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !kubeconfig.exists() {
            assert!(Instant::now() < deadline, "the kubeconfig was never written");
            std::thread::sleep(Duration::from_millis(20));
        }
        Sim(child)
    }

    fn stop(mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let status = self.0.wait().unwrap();
        assert!(status.success(), "reef sim serve exited with {status}");
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kubectl(kubectl: &Path, kubeconfig: &Path, args: &[&str]) -> String {
    let out = Command::new(kubectl).arg("--kubeconfig").arg(kubeconfig).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_simulated_cluster_rolls_out_a_deployment_and_keeps_it_across_a_restart() {
    let Some(kc) = find_executable("kubectl", "REEF_KUBECTL", &[]) else {
        missing_peer("kubectl", "scripts/test installs it");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kubeconfig");
    let data = dir.path().join("data");
    let sim = Sim::start(&config, &data);
    let nodes = kubectl(&kc, &config, &["get", "nodes", "-o", "name"]);
    assert_eq!(nodes.lines().count(), 2, "{nodes}");
    kubectl(&kc, &config, &["create", "deployment", "web", "--image=nginx", "--replicas=3"]);
    let rollout = kubectl(&kc, &config, &["rollout", "status", "deployment/web", "--timeout=60s"]);
    assert!(rollout.contains("successfully rolled out"), "{rollout}");
    kubectl(&kc, &config, &["wait", "--for=condition=Available", "deployment/web", "--timeout=60s"]);
    let ready = kubectl(&kc, &config, &["get", "deployment", "web", "-o", "jsonpath={.status.readyReplicas}"]);
    assert_eq!(ready, "3");
    kubectl(&kc, &config, &["scale", "deployment/web", "--replicas=1"]);
    kubectl(&kc, &config, &["rollout", "status", "deployment/web", "--timeout=60s"]);
    sim.stop();
    assert!(data.join("cluster.json").exists(), "no state was saved");

    let sim = Sim::start(&config, &data);
    let replicas = kubectl(&kc, &config, &["get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"]);
    assert_eq!(replicas, "1", "the deployment did not survive the restart");
    sim.stop();
}
