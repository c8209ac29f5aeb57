//! Reading a file sparsely: whatever the bytes and the buffer size, `input::read_file` gives
//! the filter's output, report and error of `input::read_whole` on the same file.
#![no_main]

use gunj_mesh::MeshType;
use gunj_mesh::{read_file, read_whole};
use gunj_mesh::{Input, Options, run};
use libfuzzer_sys::fuzz_target;
use std::fs::File;

fn result(
    input: Result<Input, gunj_mesh::Failure>,
    options: &Options,
) -> Result<(String, String), String> {
    let inputs = [input.map_err(|f| f.to_string())?];
    let outcome = run(&inputs, options).map_err(|f| f.to_string())?;
    Ok((
        outcome.output.text(),
        serde_json::to_string(&outcome.report).unwrap(),
    ))
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, bytes)) = data.split_first() else {
        return;
    };
    // The buffer: 1 to 64 bytes, so that documents, lines and characters straddle reads.
    let chunk = usize::from(choice & 63) + 1;
    let options = Options {
        mesh: Some(if choice & 64 == 0 {
            MeshType::Istio
        } else {
            MeshType::Linkerd
        }),
        ..Options::default()
    };
    let path =
        std::env::temp_dir().join(format!("gunj-mesh-fuzz-sparse-{}.yaml", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let open = || File::open(&path).unwrap();
    let whole = result(read_whole("s.yaml", open(), 0, usize::MAX), &options);
    let sparse = result(read_file("s.yaml", open(), usize::MAX, chunk, options.limits), &options);
    assert_eq!(sparse, whole, "buffer of {chunk} bytes");
});
