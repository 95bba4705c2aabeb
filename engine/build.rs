//! Says which platform code `src/sys.rs` compiles: `linux_calls` on Linux,
//! unless the `generic-unix` feature asks for the portable code every other
//! Unix gets (so CI can test that code on Linux).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(linux_calls)");
    println!("cargo::rerun-if-changed=build.rs");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let generic = std::env::var_os("CARGO_FEATURE_GENERIC_UNIX").is_some();
    if linux && !generic {
        println!("cargo::rustc-cfg=linux_calls");
    }
}
