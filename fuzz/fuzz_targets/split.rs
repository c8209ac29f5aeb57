//! The text splitter: every byte is kept, in order; documents start at boundaries; line
//! numbers count the lines before them.
#![no_main]

use gunj_mesh::internals::stream;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let docs = stream::split(0, text);
    assert_eq!(docs.iter().map(|d| d.text).collect::<String>(), text);
    assert_eq!(docs.len(), stream::boundaries(text).count() + 1);
    let mut offset = 0;
    for doc in &docs {
        assert!(doc.parse_from <= doc.text.len());
        let before = text[..offset].matches('\n').count();
        let skipped = doc.text[..doc.parse_from].matches('\n').count();
        assert_eq!(
            doc.line,
            1 + before + skipped,
            "line of the document at {offset}"
        );
        offset += doc.text.len();
    }
});
