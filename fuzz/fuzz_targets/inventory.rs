//! The audit's input files (describe output, Config query results, configuration items), and the
//! page-by-page reader the audit uses for `describe-security-groups` output, on raw bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sg_compliance::inventory::describe_pages("fuzz", data, 3, &mut |_| {});
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let mut inventory = sg_compliance::inventory::Inventory::default();
        let _ = inventory.add_json("fuzz", value);
    }
});
