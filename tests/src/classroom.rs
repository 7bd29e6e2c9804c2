//! Classes for the classroom tests: a roster prepared on a test cluster as `kq classroom
//! prepare` does it, and clients built from the kubeconfigs it wrote.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use kq_engine::classroom::{self, ClassPlan, Prepared, Roster};
use kq_engine::mission::Catalog;

use crate::cluster::{TestCluster, kube_client};

/// The shipped curriculum.
pub fn shipped_catalog() -> Catalog {
    Catalog::load(&[crate::workspace_root().join("lessons")])
}

/// A plan for class `class` of `names` (a roster's text) over `catalog`, eight hours long, on
/// KubeQuest's own class server.
pub fn plan(class: &str, names: &str, catalog: &Catalog) -> ClassPlan {
    let roster = Roster::parse("names.txt", names).expect("a valid roster");
    ClassPlan::new(class, roster, catalog, 8.0, true, Timestamp::now())
        .expect("a plan over the lessons")
}

/// Prepares `plan` on `tc` with the admin's kubeconfig, writing the class's files into `out`,
/// and reports each step to `progress`.
pub fn prepare_with(
    tc: &TestCluster,
    plan: &ClassPlan,
    out: &Path,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<Prepared, classroom::ClassError> {
    let admin = tc.block_on(kube_client(tc.cluster()));
    tc.block_on(classroom::prepare(
        &admin,
        plan,
        tc.cluster().url(),
        tc.cluster().ca_pem(),
        out,
        progress,
    ))
}

/// Prepares `plan` on `tc` into `<scratch>/class` and answers that folder.
pub fn prepare(tc: &TestCluster, plan: &ClassPlan) -> PathBuf {
    let out = tc.dir().join("class");
    prepare_with(tc, plan, &out, &mut |_| {}).unwrap_or_else(|e| panic!("prepare: {e}"));
    out
}

/// A client built from a class kubeconfig as the app and `kq play` build theirs (with the
/// app's user agent).
pub async fn client_from(path: &Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(path).expect("the kubeconfig parses");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("the kubeconfig is usable");
    kq_engine::connect::app_client(cfg).expect("a client")
}
