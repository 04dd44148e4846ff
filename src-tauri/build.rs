fn main() {
    // The package (and so tauri.conf.json, the default place) is the repository root.
    tauri_build::build()
}
