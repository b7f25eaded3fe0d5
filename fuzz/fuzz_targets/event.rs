//! A Config rule event and its rule parameters: parse, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(event) = sg_compliance::event::ConfigEvent::from_json(text) {
            let _ = sg_compliance::checks::Check::from_params(&event.rule_parameters);
        }
        // The parameter parser on its own: `key=value` lines.
        let params = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let _ = sg_compliance::checks::Check::from_params(&params);
    }
});
