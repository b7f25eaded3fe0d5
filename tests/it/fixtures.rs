//! Every fixture under `fixtures/` is real-shaped and parses into the typed values; the two item
//! shapes and the PascalCase describe output normalise to the same model.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sg_compliance::checks::Check;
use sg_compliance::event::{ConfigEvent, Message};
use sg_compliance::model::{from_config_item, DescribeOutput};

fn files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(dir),
    )
    .unwrap()
    .map(|e| e.unwrap().path())
    .filter(|p| p.extension().is_some_and(|e| e == "json"))
    .collect();
    v.sort();
    v
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn every_event_parses_and_round_trips() {
    let mut kinds = BTreeMap::new();
    for path in files("events") {
        let text = read(&path);
        let ev =
            ConfigEvent::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Check::from_params(&ev.rule_parameters)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Every event that needs no AWS call has a golden output that the CLI tests compare with.
        let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/expected")
            .join(path.file_name().unwrap());
        let offline = matches!(ev.message, Message::Change { .. });
        assert_eq!(golden.exists(), offline, "{}", golden.display());
        let kind = match &ev.message {
            Message::Change { item } => {
                if let Some(conf) = &item.configuration {
                    from_config_item(conf, &item.tags)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                }
                "change"
            }
            Message::Oversized { .. } => "oversized",
            Message::Scheduled { .. } => "scheduled",
        };
        *kinds.entry(kind).or_insert(0) += 1;
        assert!(
            ev.result_token.is_test_mode(),
            "fixtures use TESTMODE tokens"
        );
    }
    assert!(
        kinds["change"] >= 8 && kinds["oversized"] == 1 && kinds["scheduled"] == 2,
        "{kinds:?}"
    );
}

#[test]
fn both_item_shapes_and_the_seed_describe_output_agree() {
    let items: Vec<_> = files("items")
        .iter()
        .map(|p| {
            let v: Value = serde_json::from_str(&read(p)).unwrap();
            let tags: BTreeMap<String, String> = serde_json::from_value(v["tags"].clone()).unwrap();
            from_config_item(&v["configuration"], &tags).unwrap()
        })
        .collect();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0], items[1],
        "legacy ipRanges and ipv4Ranges give the same model"
    );

    let text = read(&files("describe")[0]);
    let seed: DescribeOutput = serde_json::from_str(&text).unwrap();
    let groups: Vec<_> = seed
        .security_groups
        .into_iter()
        .map(|g| g.into_model().unwrap())
        .collect();
    assert_eq!(groups.len(), 2);
    assert_eq!(
        groups[0].ingress, items[0].ingress,
        "seed's tcp/80 from 0.0.0.0/0 in both casings"
    );
    assert_eq!(groups[0].tags.get("tier").map(String::as_str), Some("web"));
}
