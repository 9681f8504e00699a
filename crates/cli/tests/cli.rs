//! The `tagsmith` binary end to end: JSON output, typed errors and exit codes, the demo.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

struct Db(PathBuf);

impl Db {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("tagsmith-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let path = dir.join(format!("{tag}.db"));
        let _ = std::fs::remove_file(&path);
        Self(path)
    }

    /// Run `tagsmith --json --db PATH args…`; returns (exit code, parsed stdout).
    fn run(&self, args: &[&str]) -> (i32, Value) {
        let out = Command::new(env!("CARGO_BIN_EXE_tagsmith"))
            .arg("--json")
            .arg("--db")
            .arg(&self.0)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "{args:?}: not JSON ({e}): {stdout} / {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), value)
    }

    fn ok(&self, args: &[&str]) -> Value {
        let (code, v) = self.run(args);
        assert_eq!(code, 0, "{args:?} → {v}");
        v
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

#[test]
fn crud_round_trip_prints_json_objects() {
    let db = Db::new("crud");
    let t = id(&db.ok(&["tenants", "create", "Acme \"Ü\" 🚀"]));
    let c = db.ok(&[
        "customers",
        "create",
        "--tenant",
        &t,
        "--name",
        "Shop",
        "--website-url",
        "https://shop.example",
    ]);
    assert_eq!(c["version"], 1);
    let c = id(&c);
    let tr = db.ok(&[
        "trackings",
        "create",
        "--tenant",
        &t,
        "--customer",
        &c,
        "--name",
        "Buy",
        "--kind",
        "button_click",
        "--selector",
        "button.buy",
        "--ga4-event",
        "add_to_cart",
        "--ga4-param",
        "placement=pdp",
        "--ads-category",
        "add_to_cart",
        "--value",
        "12.5",
        "--currency",
        "EUR",
    ]);
    assert_eq!(tr["ads"]["value"], 12.5);
    assert_eq!(tr["ga4_params"]["placement"], "pdp");
    let tr_id = id(&tr);
    let page = db.ok(&["trackings", "list", "--tenant", &t, "--customer", &c]);
    assert_eq!(page["total"], 1);
    assert!(page["next_cursor"].is_null());
    let updated = db.ok(&[
        "trackings",
        "update",
        "--tenant",
        &t,
        &tr_id,
        "--version",
        "1",
        "--url-rule",
        "contains:/product",
    ]);
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["url_rule"]["match"], "contains");
    let cleared = db.ok(&[
        "trackings",
        "update",
        "--tenant",
        &t,
        &tr_id,
        "--version",
        "2",
        "--clear",
        "ads",
    ]);
    assert!(cleared["ads"].is_null(), "{cleared}");
    assert_eq!(cleared["version"], 3);
    let (_, err) = db.run(&[
        "trackings",
        "update",
        "--tenant",
        &t,
        &tr_id,
        "--version",
        "3",
        "--clear",
        "name",
    ]);
    assert_eq!(
        (err["code"].as_str(), err["fields"][0]["field"].as_str()),
        (Some("invalid_input"), Some("name"))
    );
    let (code, err) = db.run(&[
        "trackings",
        "update",
        "--tenant",
        &t,
        &tr_id,
        "--version",
        "1",
        "--name",
        "x",
    ]);
    assert_ne!(code, 0);
    assert_eq!(err["code"], "conflict");
    assert_eq!(db.ok(&["tenants", "get", &t])["name"], "Acme \"Ü\" 🚀");
    db.ok(&[
        "trackings",
        "delete",
        "--tenant",
        &t,
        &tr_id,
        "--version",
        "3",
    ]);
    let (_, err) = db.run(&["trackings", "get", "--tenant", &t, &tr_id]);
    assert_eq!(err["code"], "not_found");
}

#[test]
fn bad_input_is_a_typed_json_error_naming_the_field() {
    let db = Db::new("bad");
    let t = id(&db.ok(&["tenants", "create", "Acme"]));
    let (code, err) = db.run(&[
        "customers",
        "create",
        "--tenant",
        &t,
        "--name",
        "Shop",
        "--website-url",
        "shop.example",
    ]);
    assert_eq!(code, 1);
    assert_eq!(err["code"], "invalid_input");
    assert_eq!(err["fields"][0]["field"], "website_url");
    assert_eq!(err["fields"][0]["value"], "shop.example");
    // The argument parser's errors come out the same way.
    let (code, err) = db.run(&["customers", "create", "--tenant", &t, "--name", "Shop"]);
    assert_eq!(code, 2);
    assert_eq!(err["code"], "invalid_input");
    assert_eq!(err["fields"][0]["field"], "website_url");
    let (_, err) = db.run(&[
        "trackings",
        "create",
        "--tenant",
        &t,
        "--customer",
        "c",
        "--name",
        "n",
        "--kind",
        "hover",
    ]);
    assert_eq!(err["fields"][0]["field"], "kind");
    assert_eq!(err["fields"][0]["value"], "hover");
    for bad in ["nan", "inf", "1e999"] {
        let (code, err) = db.run(&[
            "trackings",
            "create",
            "--tenant",
            &t,
            "--customer",
            "c",
            "--name",
            "n",
            "--kind",
            "button_click",
            "--selector",
            "#x",
            "--ads-category",
            "purchase",
            "--value",
            bad,
            "--currency",
            "EUR",
        ]);
        assert_eq!(code, 1, "{bad}");
        assert_eq!(err["fields"][0]["field"], "ads.value", "{bad}: {err}");
    }
    let (_, err) = db.run(&["trackings", "list", "--tenant", &t, "--limit", "many"]);
    assert_eq!(err["fields"][0]["field"], "limit");
}

#[test]
fn other_tenants_records_are_not_found() {
    let db = Db::new("isolation");
    let a = id(&db.ok(&["tenants", "create", "A"]));
    let b = id(&db.ok(&["tenants", "create", "B"]));
    let c = id(&db.ok(&[
        "customers",
        "create",
        "--tenant",
        &a,
        "--name",
        "Shop",
        "--website-url",
        "https://a.example",
    ]));
    let (code, err) = db.run(&["customers", "get", "--tenant", &b, &c]);
    assert_eq!((code, err["code"].as_str()), (1, Some("not_found")));
    assert_eq!(db.ok(&["customers", "list", "--tenant", &b])["total"], 0);
}

#[test]
fn a_corrupt_database_file_is_a_storage_error() {
    let db = Db::new("corrupt");
    std::fs::write(&db.0, vec![b'x'; 8192]).unwrap_or_else(|e| panic!("{e}"));
    let (code, err) = db.run(&["tenants", "list"]);
    assert_eq!(code, 1);
    assert_eq!(err["code"], "storage");
}

#[test]
fn the_demo_runs_offline_and_again_on_the_same_file() {
    let db = Db::new("demo");
    for run in 1..=2 {
        let report = db.ok(&["demo"]);
        assert_eq!(report["cross_tenant_read"]["code"], "not_found");
        assert_eq!(report["rejected"]["code"], "invalid_input");
        assert_eq!(report["stale_update"]["code"], "conflict");
        assert_eq!(report["trackings"].as_array().map(Vec::len), Some(5));
        assert_eq!(report["tenants_in_database"], 2 * run);
        // The sync outcome left the user's version alone; the edit from it went through.
        assert_eq!(report["sync_outcome"]["version"], 1);
        assert_eq!(
            report["sync_outcome"]["external_ids"]["gtm"]["trigger_id"],
            "demo-12"
        );
        assert_eq!(report["edited_after_sync"]["version"], 2);
        assert_eq!(report["edited_after_sync"]["sync_status"], "pending");
        let seqs: Vec<u64> = report["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect();
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    }
}

#[test]
fn every_process_reads_the_durable_event_log() {
    let db = Db::new("events");
    // Each command is its own process; the log they write is one, numbered without gaps.
    let t = id(&db.ok(&["tenants", "create", "Log"]));
    for i in 0..3 {
        db.ok(&[
            "customers",
            "create",
            "--tenant",
            &t,
            "--name",
            &format!("Shop {i}"),
            "--website-url",
            "https://shop.example",
        ]);
    }
    let seqs = |v: &Value| -> Vec<u64> {
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect()
    };
    let all = db.ok(&["events", "--tenant", &t]);
    assert_eq!(seqs(&all), [1, 2, 3, 4]);
    assert_eq!(all["events"][0]["entity"], "tenant");
    assert_eq!(all["events"][3]["action"], "created");
    assert_eq!(
        (all["last_seq"].as_u64(), all["missed"].as_u64()),
        (Some(4), Some(0))
    );
    let page = db.ok(&["events", "--tenant", &t, "--after", "2", "--limit", "1"]);
    assert_eq!((seqs(&page), page["last_seq"].as_u64()), (vec![3], Some(3)));
    let (code, err) = db.run(&["events", "--tenant", &t, "--after=-1"]);
    assert_eq!(code, 1);
    assert_eq!(
        (err["code"].as_str(), err["fields"][0]["field"].as_str()),
        (Some("invalid_input"), Some("after"))
    );
    // The activity log: who made a change (--as), read back by actor, record and time.
    let shop = id(&db.ok(&[
        "--as",
        "script:import",
        "customers",
        "create",
        "--tenant",
        &t,
        "--name",
        "Imported",
        "--website-url",
        "https://imported.example",
    ]));
    let mine = db.ok(&["events", "--tenant", &t, "--actor", "script:import"]);
    assert_eq!((seqs(&mine), mine["last_seq"].as_u64()), (vec![5], Some(5)));
    assert_eq!(mine["events"][0]["actor"], "script:import");
    assert_eq!(all["events"][1]["actor"], Value::Null);
    let history = db.ok(&[
        "events", "--tenant", &t, "--id", &shop, "--entity", "customer",
    ]);
    assert_eq!(seqs(&history), [5]);
    let none = db.ok(&["events", "--tenant", &t, "--until", "2000-01-01T00:00:00Z"]);
    assert_eq!(seqs(&none), Vec::<u64>::new());
    for (args, field) in [
        (vec!["--since", "yesterday"], "since"),
        (vec!["--entity", "planet"], "entity"),
    ] {
        let mut argv = vec!["events", "--tenant", &t];
        argv.extend(args);
        let (code, err) = db.run(&argv);
        assert_eq!(code, 1);
        assert_eq!(err["fields"][0]["field"].as_str(), Some(field), "{err}");
    }
    let (code, err) = db.run(&["--as", "", "tenants", "list"]);
    assert_eq!(
        (code, err["fields"][0]["field"].as_str()),
        (1, Some("actor"))
    );
}

#[test]
fn events_follow_prints_other_processes_commits_as_they_come() {
    use std::io::BufRead;
    let db = Db::new("follow");
    let tenant = id(&db.ok(&["tenants", "create", "Followed"]));
    let mut child = Command::new(env!("CARGO_BIN_EXE_tagsmith"))
        .args(["--json", "--db"])
        .arg(&db.0)
        .args(["events", "--tenant", &tenant, "--follow"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = || {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("no event line within 30 s");
        serde_json::from_str::<Value>(&line).unwrap()
    };
    // The log so far, then what another process commits while it follows.
    assert_eq!(next()["entity"], "tenant");
    let shop = id(&db.ok(&[
        "customers",
        "create",
        "--tenant",
        &tenant,
        "--name",
        "Shop",
        "--website-url",
        "https://shop.example",
    ]));
    let event = next();
    assert_eq!(
        (event["entity"].as_str(), event["id"].as_str()),
        (Some("customer"), Some(shop.as_str()))
    );
    assert_eq!(event["seq"], 2);
    // SIGTERM ends it cleanly.
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(child.wait().unwrap().success());
}
