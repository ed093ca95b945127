//! The code and identifier systems in the CapabilityStatement: every `system` the server
//! emits for the demo database, in any resource of any type, is documented there.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{get, link, server};
use serde_json::Value;

/// Every URI-valued `system` (a ContactPoint's `phone`/`email` is a code, not a system),
/// with where it was seen.
fn systems(v: &Value, at: &str, out: &mut BTreeMap<String, BTreeSet<String>>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(s)) = m.get("system")
                && s.contains(':')
            {
                out.entry(s.clone()).or_default().insert(at.to_owned());
            }
            for (k, x) in m {
                systems(x, &format!("{at}.{k}"), out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| systems(x, at, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_system_emitted_is_documented_in_the_capability_statement() {
    let (status, meta) = get("/metadata").await;
    assert_eq!(status, 200);
    let doc = meta["rest"][0]["documentation"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut found = BTreeMap::new();
    let types: Vec<String> = meta["rest"][0]["resource"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["type"].as_str().map(str::to_owned))
        .collect();
    let mut resources = 0;
    for t in &types {
        let mut url = format!("/{t}?_count=500");
        loop {
            let (status, page) = get(&url).await;
            assert_eq!(status, 200, "{url}: {page}");
            for e in page["entry"].as_array().into_iter().flatten() {
                systems(&e["resource"], t, &mut found);
                resources += 1;
            }
            match link(&page, "next") {
                Some(next) => url = next,
                None => break,
            }
        }
    }
    assert!(resources > 1000, "{resources}");
    let base = &server().base;
    // Local and standard systems both occur, and the check below would see a new one.
    assert!(
        found
            .keys()
            .any(|s| s.starts_with(&format!("{base}/CodeSystem/")))
    );
    assert!(found.keys().any(|s| s.starts_with(&format!("{base}/sid/"))));
    assert!(found.contains_key("http://hl7.org/fhir/sid/icd-10"));
    let ctx = gnuhealth::resources::Context {
        base_url: base.clone(),
    };
    for (system, seen) in &found {
        assert!(
            doc.contains(&format!("`{system}`")),
            "{system} (in {seen:?}) is not in the CapabilityStatement's documentation"
        );
        assert!(gnuhealth::systems::is_documented(&ctx, system), "{system}");
    }
}
