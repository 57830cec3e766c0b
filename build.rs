//! Rebuild when migrations change: they are embedded with `embed_migrations!`, which
//! cargo cannot see through on its own.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
