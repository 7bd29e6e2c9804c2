//! `kq lessons check DIR…`: the engine's lesson checker with the embedded cluster's image
//! catalog plugged in, so a teacher learns in one run about every mistake, a `registry.yaml`
//! the cluster would refuse and a solution whose image the offline registry does not have.
//!
//! The engine cannot depend on the cluster crate; the CLI can, so the catalog knowledge
//! ([`kq_engine::mission::ImageCatalog`]) is implemented here.

use std::path::PathBuf;
use std::process::ExitCode;

use kq_engine::mission::{ImageCatalog, check_lessons};
use kq_sim::registry::{Catalog, ImageRef};

/// The embedded cluster's offline registry: the built-in catalog plus a lesson's additions.
pub struct EmbeddedImages;

impl ImageCatalog for EmbeddedImages {
    fn missing_image(&self, registries: &[(String, String)], image: &str) -> Option<String> {
        let reference = match ImageRef::parse(image) {
            Ok(r) => r,
            Err(e) => return Some(format!("it is not a valid image reference ({e})")),
        };
        let mut catalog = Catalog::builtin();
        for (file, yaml) in registries {
            // A broken registry.yaml is reported on its own; the rest of the catalog still
            // answers.
            let _ = catalog.add_yaml(yaml, file);
        }
        // Whether it exists, not whether this pod may pull it: credentials are the lesson's
        // business (a pull-secret mission's solution adds them).
        catalog.lookup(&reference).err().map(|e| e.cri_message())
    }

    fn registry_problem(&self, file: &str, yaml: &str) -> Option<(Option<usize>, String)> {
        let mut catalog = Catalog::builtin();
        catalog.add_yaml(yaml, file).err().map(|e| {
            let field = e.field.map(|f| format!("{f}: ")).unwrap_or_default();
            (e.line, format!("{field}{}. {}", e.problem, e.next_step))
        })
    }
}

/// Checks each folder; exits 1 when any lesson (or a folder's own `registry.yaml`) has an
/// error, so CI fails on a broken lesson.
pub fn lessons_check(dirs: &[PathBuf]) -> ExitCode {
    let mut ok = true;
    for dir in dirs {
        if !dir.is_dir() {
            eprintln!("error: {}: not a folder", dir.display());
            ok = false;
            continue;
        }
        let report = check_lessons(dir, Some(&EmbeddedImages));
        print!("{}", report.render());
        ok &= report.is_ok();
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
