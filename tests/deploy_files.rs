//! The deployment files cannot be run here (no Docker engine, no cluster), so they are checked
//! as far as possible without one: every YAML file parses, every file they mount, build from or
//! generate from exists, and the configurations they ship are valid txscore configurations.

use std::path::{Path, PathBuf};
use txscore::config::ConfigFile;
use yaml_rust2::{Yaml, YamlLoader};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn yaml(relative: &str) -> Vec<Yaml> {
    let text = std::fs::read_to_string(root().join(relative))
        .unwrap_or_else(|e| panic!("{relative}: {e}"));
    YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{relative} is not valid YAML: {e}"))
}

fn yaml_files(directory: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, found);
        } else if path
            .extension()
            .is_some_and(|ext| ext == "yml" || ext == "yaml")
        {
            found.push(path);
        }
    }
}

fn assert_exists(relative: &str, named_by: &str) {
    assert!(
        root().join(relative).exists(),
        "{named_by} names {relative}, which does not exist"
    );
}

#[test]
fn every_yaml_file_parses() {
    let mut files = vec![root().join("docker-compose.yml")];
    yaml_files(&root().join("deploy"), &mut files);
    assert!(files.len() >= 10, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let documents =
            YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            !documents.is_empty() && !documents[0].is_null(),
            "{} is empty",
            file.display()
        );
    }
}

#[test]
fn compose_stack_references_existing_files_and_the_expected_services() {
    let compose = &yaml("docker-compose.yml")[0];
    let services = compose["services"].as_hash().expect("services");
    for name in [
        "kafka",
        "kafka-init",
        "redis",
        "txscore",
        "generator",
        "prometheus",
        "grafana",
    ] {
        assert!(
            services.contains_key(&Yaml::String(name.into())),
            "service {name} missing"
        );
    }
    for (name, service) in services {
        let name = name.as_str().unwrap();
        if let Some(context) = service["build"].as_str() {
            assert_exists(&format!("{context}/Dockerfile"), name);
        }
        for volume in service["volumes"].as_vec().into_iter().flatten() {
            let host = volume.as_str().unwrap().split(':').next().unwrap();
            if let Some(relative) = host.strip_prefix("./") {
                assert_exists(relative, name);
            }
        }
    }
    let txscore = &compose["services"]["txscore"];
    let command: Vec<&str> = txscore["command"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(command, ["run", "--config", "/etc/txscore/txscore.toml"]);
}

#[test]
fn dockerfile_copies_existing_paths_and_runs_as_non_root() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    for line in dockerfile
        .lines()
        .filter(|line| line.starts_with("COPY") && !line.contains("--from"))
    {
        let parts: Vec<&str> = line.split_whitespace().collect();
        for source in &parts[1..parts.len() - 1] {
            assert_exists(source, "Dockerfile");
        }
    }
    assert!(dockerfile.contains("USER 10001"));
}

#[test]
fn kustomization_references_existing_files_and_probes_match_the_service() {
    let kustomization = &yaml("deploy/kustomization.yaml")[0];
    for resource in kustomization["resources"].as_vec().unwrap() {
        assert_exists(
            &format!("deploy/{}", resource.as_str().unwrap()),
            "kustomization",
        );
    }
    for generator in kustomization["configMapGenerator"].as_vec().unwrap() {
        for file in generator["files"].as_vec().unwrap() {
            let file = file.as_str().unwrap();
            let source = file.split_once('=').map_or(file, |(_, source)| source);
            assert_exists(&format!("deploy/{source}"), "kustomization");
        }
    }
    let deployment = &yaml("deploy/k8s/deployment.yaml")[0];
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"].as_str(),
        Some("/readyz")
    );
    assert_eq!(
        container["livenessProbe"]["httpGet"]["path"].as_str(),
        Some("/healthz")
    );
    assert_eq!(container["ports"][0]["containerPort"].as_i64(), Some(9464));
    assert!(!container["resources"]["requests"].is_badvalue());
    let rules_mount = container["volumeMounts"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|mount| mount["name"].as_str() == Some("rules"))
        .expect("the rules ConfigMap is mounted");
    assert!(
        rules_mount["subPath"].is_badvalue(),
        "a subPath mount never sees ConfigMap updates, so the rules could not reload"
    );
    let config = ConfigFile::read(&root().join("deploy/k8s/txscore.toml")).unwrap();
    assert_eq!(
        config.rules.as_deref(),
        rules_mount["mountPath"].as_str().map(std::path::Path::new),
        "txscore reads its rules where the ConfigMap is mounted"
    );
    assert_eq!(
        deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"].as_str(),
        Some("9464")
    );
}

#[test]
fn shipped_configurations_are_valid() {
    for file in ["deploy/compose/txscore.toml", "deploy/k8s/txscore.toml"] {
        let config = ConfigFile::read(&root().join(file))
            .and_then(|config| {
                config
                    .with_env(|name| {
                        (name == "TXSCORE_REDIS_URL").then(|| "redis://redis:6379".to_owned())
                    })
                    .validate()
            })
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            config.http_addr.port(),
            9464,
            "{file} serves where the probes and scrapes look"
        );
    }
}

#[test]
fn dashboards_are_grafana_json_on_the_provisioned_datasource() {
    for entry in std::fs::read_dir(root().join("dashboards")).unwrap() {
        let path = entry.unwrap().path();
        let dashboard: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(dashboard["uid"]
            .as_str()
            .is_some_and(|uid| uid.starts_with("txscore-")));
        let panels = dashboard["panels"].as_array().unwrap();
        assert!(!panels.is_empty());
        for panel in panels {
            for target in panel["targets"].as_array().unwrap() {
                assert_eq!(
                    target["datasource"]["uid"],
                    "prometheus",
                    "{}",
                    path.display()
                );
                assert!(target["expr"]
                    .as_str()
                    .is_some_and(|expr| expr.contains("txscore_")));
            }
        }
    }
    let datasource = &yaml("deploy/grafana/provisioning/datasources/prometheus.yml")[0];
    assert_eq!(
        datasource["datasources"][0]["uid"].as_str(),
        Some("prometheus")
    );
}

/// Redis arguments that turn on the append-only file and sync it before each answer.
fn assert_keeps_every_write(arguments: &Yaml) {
    let arguments: Vec<&str> = arguments
        .as_vec()
        .unwrap()
        .iter()
        .map(|part| part.as_str().unwrap())
        .collect();
    for setting in [["--appendonly", "yes"], ["--appendfsync", "always"]] {
        assert!(
            arguments.windows(2).any(|pair| pair == setting),
            "{setting:?} in {arguments:?}"
        );
    }
}

/// The Redis that compose and the k8s manifests run keeps every acknowledged write: an
/// append-only file synced before each answer, on storage that outlives the container.
#[test]
fn the_shipped_redis_keeps_every_acknowledged_write() {
    let compose = &yaml("docker-compose.yml")[0];
    let redis = &compose["services"]["redis"];
    assert_keeps_every_write(&redis["command"]);
    let volume = redis["volumes"][0].as_str().unwrap();
    assert_eq!(volume, "redis-data:/data");
    assert!(!compose["volumes"]["redis-data"].is_badvalue());

    let documents = yaml("deploy/k8s/redis.yaml");
    let statefulset = documents
        .iter()
        .find(|document| document["kind"].as_str() == Some("StatefulSet"))
        .expect("a Redis StatefulSet");
    let container = &statefulset["spec"]["template"]["spec"]["containers"][0];
    assert_keeps_every_write(&container["args"]);
    assert_eq!(
        container["volumeMounts"][0]["mountPath"].as_str(),
        Some("/data")
    );
    assert_eq!(
        statefulset["spec"]["volumeClaimTemplates"][0]["metadata"]["name"].as_str(),
        Some("data")
    );
}
