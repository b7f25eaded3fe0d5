//! The audit's input files (describe output, Config query results, configuration items).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let mut inventory = sg_compliance::inventory::Inventory::default();
        let _ = inventory.add_json("fuzz", value);
    }
});
