//! Preparing a class on a cluster: the namespaces, accounts, roles and bindings of [`super`],
//! the tokens, and `DIR` with one kubeconfig per learner, the teacher's, and the join sheet.
//!
//! Prepare checks before it changes anything: a namespace or cluster role it would use that
//! exists without KubeQuest's label, or another class already on the cluster, stops it with
//! nothing created. Then every object is server-side applied (field manager `kubequest`,
//! forced), so a second run gives the same cluster and fresh tokens; objects an earlier run made
//! for learners or missions no longer in the plan are deleted. Progress goes through the
//! callback (`creating namespaces 12/84…`) so a teacher watching thirty learners' namespaces
//! being made knows it is moving.
//!
//! Kubeconfigs are written as the embedded cluster writes its own: mode 0600 from the start,
//! through a temporary file renamed into place, so nobody ever reads half a file or a
//! world-readable token.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

use base64::Engine;
use futures::StreamExt;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::join::{new_join_code, write_join_sheets};
use super::{
    CLASS_LABEL, CLASS_NAMESPACE, ClassError, ClassPlan, LEARNER_LABEL, SEAT_EXTENSION, Seat,
    TEACHER_ACCOUNT, class_selector, cluster_error, learner_account, learner_namespace, rbac,
};
use crate::session::{FIELD_MANAGER, MANAGED_BY_LABEL, MANAGED_BY_VALUE};

/// How many requests prepare keeps in flight.
const IN_FLIGHT: usize = 8;

/// What prepare wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// `(learner, DIR/<learner>.kubeconfig)` in roster order, then `("teacher", …)`.
    pub kubeconfigs: Vec<(String, PathBuf)>,
    /// `(learner, code)`, one fresh code per learner (`ABCD-EFGH`).
    pub join_codes: Vec<(String, String)>,
    /// `DIR/join-sheet.md` (a printable `join-sheet.html` sits beside it).
    pub sheet: PathBuf,
}

/// A kubeconfig for one seat: the cluster at `server_url` trusted through `ca_pem` (left out
/// when empty: the system's roots then apply), the token, and a context
/// `kq-class-<class>-<learner|teacher>` in `kq-classroom` carrying the seat extension.
pub fn render_kubeconfig(server_url: &str, ca_pem: &str, token: &str, seat: &Seat) -> String {
    let name = seat.context_name();
    let mut cluster = json!({ "server": server_url });
    if !ca_pem.trim().is_empty() {
        cluster["certificate-authority-data"] =
            json!(base64::engine::general_purpose::STANDARD.encode(ca_pem));
    }
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": name, "cluster": cluster }],
        "contexts": [{
            "name": name,
            "context": {
                "cluster": name,
                "user": name,
                "namespace": CLASS_NAMESPACE,
                "extensions": [{ "name": SEAT_EXTENSION, "extension": seat.to_extension() }],
            },
        }],
        "current-context": name,
        "preferences": {},
        "users": [{ "name": name, "user": { "token": token } }],
    });
    // A JSON value of strings and maps always serialises.
    serde_yaml_ng::to_string(&config).unwrap_or_default()
}

/// Writes a kubeconfig to `path` with mode 0600, through a temporary file in the same folder
/// renamed into place.
pub fn write_kubeconfig(path: &Path, contents: &str) -> Result<(), ClassError> {
    kq_kube::kubeconfig_file::write(path, contents).map_err(|source| ClassError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn ssa() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

/// Server-side applies `body` through `api`.
async fn apply<K>(api: Api<K>, body: Value) -> Result<(), ClassError>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let name = body["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let kind = body["kind"].as_str().unwrap_or_default().to_owned();
    api.patch(&name, &ssa(), &Patch::Apply(&body))
        .await
        .map_err(|e| cluster_error(format!("creating {kind} {name}"), &e))?;
    Ok(())
}

fn is_ours(meta: &kube::core::ObjectMeta) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_BY_LABEL))
        .is_some_and(|v| v == MANAGED_BY_VALUE)
}

fn class_of(meta: &kube::core::ObjectMeta) -> Option<String> {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(CLASS_LABEL))
        .cloned()
}

/// Refuses before anything changes: a class namespace, mission namespace or class-wide role
/// that exists and is not KubeQuest's, or another class on the cluster.
async fn check_cluster(client: &kube::Client, plan: &ClassPlan) -> Result<(), ClassError> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let listed = namespaces
        .list(&ListParams::default())
        .await
        .map_err(|e| cluster_error("listing namespaces", &e))?;
    let wanted: BTreeSet<String> = plan
        .roster
        .learners
        .iter()
        .flat_map(|l| plan.missions.iter().map(move |m| learner_namespace(l, m)))
        .chain([CLASS_NAMESPACE.to_owned()])
        .collect();
    for ns in &listed {
        let name = ns.name_any();
        if !wanted.contains(&name) {
            continue;
        }
        if !is_ours(&ns.metadata) {
            return Err(ClassError::NotOurs {
                kind: "namespace".into(),
                name,
            });
        }
        if name == CLASS_NAMESPACE
            && let Some(existing) = class_of(&ns.metadata)
            && existing != plan.class
        {
            return Err(ClassError::OtherClass { existing });
        }
    }
    let roles: Api<ClusterRole> = Api::all(client.clone());
    for name in [
        rbac::LEARNER_ROLE,
        rbac::LEARNER_CLUSTER_ROLE,
        rbac::TEACHER_ROLE,
    ] {
        if let Some(r) = roles
            .get_opt(name)
            .await
            .map_err(|e| cluster_error("reading cluster roles", &e))?
            && !is_ours(&r.metadata)
        {
            return Err(ClassError::NotOurs {
                kind: "ClusterRole".into(),
                name: name.into(),
            });
        }
    }
    let bindings: Api<ClusterRoleBinding> = Api::all(client.clone());
    for name in [rbac::LEARNERS_BINDING, rbac::TEACHER_ROLE] {
        if let Some(b) = bindings
            .get_opt(name)
            .await
            .map_err(|e| cluster_error("reading cluster role bindings", &e))?
            && !is_ours(&b.metadata)
        {
            return Err(ClassError::NotOurs {
                kind: "ClusterRoleBinding".into(),
                name: name.into(),
            });
        }
    }
    Ok(())
}

/// Runs `jobs` at most [`IN_FLIGHT`] at a time, reporting `what i/n…` as they finish.
async fn run_all<F>(
    jobs: Vec<F>,
    what: &str,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<(), ClassError>
where
    F: std::future::Future<Output = Result<(), ClassError>>,
{
    let total = jobs.len();
    let mut done = 0;
    let mut stream = futures::stream::iter(jobs).buffer_unordered(IN_FLIGHT);
    progress(&format!("{what} 0/{total}…"));
    while let Some(result) = stream.next().await {
        result?;
        done += 1;
        if done == total || done % 10 == 0 {
            progress(&format!("{what} {done}/{total}…"));
        }
    }
    Ok(())
}

/// Deletes objects of this class that the plan no longer holds (a learner taken off the roster,
/// a mission no longer in the class).
async fn prune(client: &kube::Client, plan: &ClassPlan) -> Result<usize, ClassError> {
    let selector = format!("{},{LEARNER_LABEL}", class_selector(Some(&plan.class)));
    let params = ListParams::default().labels(&selector);
    let learners: BTreeSet<&str> = plan.roster.learners.iter().map(String::as_str).collect();
    let wanted: BTreeSet<String> = plan
        .roster
        .learners
        .iter()
        .flat_map(|l| plan.missions.iter().map(move |m| learner_namespace(l, m)))
        .collect();
    let gone = |meta: &kube::core::ObjectMeta| {
        meta.labels
            .as_ref()
            .and_then(|l| l.get(LEARNER_LABEL))
            .is_none_or(|l| !learners.contains(l.as_str()))
    };
    let mut removed = 0;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for ns in namespaces
        .list(&params)
        .await
        .map_err(|e| cluster_error("listing the class's namespaces", &e))?
    {
        let name = ns.name_any();
        if name != CLASS_NAMESPACE && !wanted.contains(&name) {
            delete(&namespaces, "namespace", &name).await?;
            removed += 1;
        }
    }
    macro_rules! prune_kind {
        ($k:ty, $kind:literal) => {{
            let api: Api<$k> = Api::namespaced(client.clone(), CLASS_NAMESPACE);
            for o in api
                .list(&params)
                .await
                .map_err(|e| cluster_error("listing the class's accounts", &e))?
            {
                if gone(&o.metadata) {
                    delete(&api, $kind, &o.name_any()).await?;
                    removed += 1;
                }
            }
        }};
    }
    prune_kind!(ServiceAccount, "ServiceAccount");
    prune_kind!(Role, "Role");
    prune_kind!(RoleBinding, "RoleBinding");
    prune_kind!(ConfigMap, "ConfigMap");
    Ok(removed)
}

/// Deletes `name` (a `kind`, for the error); already gone is fine.
pub(crate) async fn delete<K>(api: &Api<K>, kind: &str, name: &str) -> Result<(), ClassError>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(cluster_error(format!("deleting {kind} {name}"), &e)),
    }
}

/// A token for `account` in `kq-classroom` that dies when the class ends.
async fn token(client: &kube::Client, account: &str, seconds: i64) -> Result<String, ClassError> {
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), CLASS_NAMESPACE);
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: Vec::new(),
            expiration_seconds: Some(seconds),
            bound_object_ref: None,
        },
        ..TokenRequest::default()
    };
    let answer = api
        .create_token_request(account, &PostParams::default(), &request)
        .await
        .map_err(|e| cluster_error(format!("requesting a token for {account}"), &e))?;
    answer
        .status
        .map(|s| s.token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ClassError::Cluster {
            doing: format!("requesting a token for {account}"),
            source: crate::connect::ConnectError::Other {
                detail: "the answer carried no token".into(),
            },
        })
}

/// Creates (idempotently, server-side apply with field manager `kubequest`) everything the
/// class needs through `client` (an admin's), requests tokens that expire with the class and
/// writes `out`: `<learner>.kubeconfig`, `teacher.kubeconfig`, `join-sheet.md` and
/// `join-sheet.html`. `server_url` and `ca_pem` go into the kubeconfigs (for a real cluster:
/// the admin context's cluster entry). The tokens last the class's length.
pub async fn prepare(
    client: &kube::Client,
    plan: &ClassPlan,
    server_url: &str,
    ca_pem: &str,
    out: &Path,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<Prepared, ClassError> {
    let seconds = plan.length_seconds();
    std::fs::create_dir_all(out).map_err(|source| ClassError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    progress("checking the cluster…");
    check_cluster(client, plan).await?;
    let class = plan.class.as_str();

    progress(&format!("creating {CLASS_NAMESPACE}…"));
    apply(
        Api::<Namespace>::all(client.clone()),
        rbac::class_namespace(class),
    )
    .await?;
    let in_class = |c: &kube::Client| Api::<ConfigMap>::namespaced(c.clone(), CLASS_NAMESPACE);
    apply(
        Api::<ServiceAccount>::namespaced(client.clone(), CLASS_NAMESPACE),
        rbac::teacher_service_account(class),
    )
    .await?;
    apply(
        in_class(client),
        rbac::class_config_map(
            class,
            &plan.ends_at.to_string(),
            &plan.roster.learners,
            &plan.missions,
        ),
    )
    .await?;

    progress("creating the class's roles…");
    let roles = Api::<ClusterRole>::all(client.clone());
    apply(roles.clone(), rbac::learner_role(class)).await?;
    apply(roles.clone(), rbac::learner_cluster_role(class)).await?;
    apply(roles, rbac::teacher_role(class)).await?;
    let bindings = Api::<ClusterRoleBinding>::all(client.clone());
    apply(
        bindings.clone(),
        rbac::learners_binding(class, &plan.roster.learners),
    )
    .await?;
    apply(bindings, rbac::teacher_binding(class)).await?;

    let mut jobs = Vec::new();
    for l in &plan.roster.learners {
        let c = client.clone();
        jobs.push(async move {
            apply(
                Api::<ServiceAccount>::namespaced(c.clone(), CLASS_NAMESPACE),
                rbac::learner_service_account(class, l),
            )
            .await?;
            apply(
                Api::<Role>::namespaced(c.clone(), CLASS_NAMESPACE),
                rbac::learner_class_role(class, l),
            )
            .await?;
            apply(
                Api::<RoleBinding>::namespaced(c.clone(), CLASS_NAMESPACE),
                rbac::learner_class_binding(class, l),
            )
            .await?;
            apply(
                Api::<ConfigMap>::namespaced(c, CLASS_NAMESPACE),
                rbac::progress_config_map(class, l),
            )
            .await
        });
    }
    run_all(jobs, "creating learner accounts", progress).await?;

    let no_labels = Default::default();
    let mut jobs = Vec::new();
    for l in &plan.roster.learners {
        for m in &plan.missions {
            let c = client.clone();
            let labels = plan.namespace_labels.get(m).unwrap_or(&no_labels);
            jobs.push(async move {
                apply(
                    Api::<Namespace>::all(c.clone()),
                    rbac::mission_namespace(class, l, m, labels),
                )
                .await?;
                apply(
                    Api::<RoleBinding>::namespaced(c, &learner_namespace(l, m)),
                    rbac::mission_binding(class, l, m),
                )
                .await
            });
        }
    }
    run_all(jobs, "creating namespaces", progress).await?;

    let removed = prune(client, plan).await?;
    if removed > 0 {
        progress(&format!(
            "removed {removed} objects of learners or missions no longer in the class"
        ));
    }

    progress("requesting tokens…");
    let mut seats: Vec<(String, String, Seat)> = plan
        .roster
        .learners
        .iter()
        .map(|l| {
            (
                l.clone(),
                learner_account(l),
                Seat {
                    class: class.to_owned(),
                    learner: Some(l.clone()),
                },
            )
        })
        .collect();
    seats.push((
        TEACHER_ACCOUNT.to_owned(),
        TEACHER_ACCOUNT.to_owned(),
        Seat {
            class: class.to_owned(),
            learner: None,
        },
    ));
    let mut kubeconfigs = Vec::new();
    for (who, account, seat) in &seats {
        let token = token(client, account, seconds).await?;
        let path = out.join(format!("{who}.kubeconfig"));
        write_kubeconfig(&path, &render_kubeconfig(server_url, ca_pem, &token, seat))?;
        kubeconfigs.push((who.clone(), path));
    }
    progress("writing the join sheet…");
    let join_codes: Vec<(String, String)> = plan
        .roster
        .learners
        .iter()
        .map(|l| (l.clone(), new_join_code()))
        .collect();
    let sheet = write_join_sheets(out, class, server_url, plan.ends_at, &join_codes)?;
    Ok(Prepared {
        kubeconfigs,
        join_codes,
        sheet,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_learner_kubeconfig_parses_and_carries_the_seat() {
        let seat = Seat {
            class: "monday".into(),
            learner: Some("ada".into()),
        };
        let text = render_kubeconfig(
            "https://192.168.1.20:6443",
            "-----BEGIN CERTIFICATE-----\nX\n",
            "tok.en",
            &seat,
        );
        let cfg: kube::config::Kubeconfig = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(cfg.current_context.as_deref(), Some("kq-class-monday-ada"));
        let ctx = cfg.contexts[0].context.as_ref().unwrap();
        assert_eq!(ctx.namespace.as_deref(), Some(CLASS_NAMESPACE));
        assert_eq!(Seat::from_kubeconfig(&cfg, None), Some(seat));
        let cluster = cfg.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://192.168.1.20:6443"));
        let ca = base64::engine::general_purpose::STANDARD
            .decode(cluster.certificate_authority_data.as_deref().unwrap())
            .unwrap();
        assert_eq!(ca, b"-----BEGIN CERTIFICATE-----\nX\n");
        let user = cfg.auth_infos[0].auth_info.as_ref().unwrap();
        assert!(user.token.is_some(), "the token is the credential");
    }

    #[test]
    fn the_teacher_kubeconfig_says_teacher() {
        let seat = Seat {
            class: "c".into(),
            learner: None,
        };
        let cfg: kube::config::Kubeconfig =
            serde_yaml_ng::from_str(&render_kubeconfig("https://h:1", "", "t", &seat)).unwrap();
        assert_eq!(cfg.current_context.as_deref(), Some("kq-class-c-teacher"));
        assert_eq!(Seat::from_kubeconfig(&cfg, None), Some(seat));
        assert!(
            cfg.clusters[0]
                .cluster
                .as_ref()
                .unwrap()
                .certificate_authority_data
                .is_none(),
            "no CA given: none written (the system's roots apply)"
        );
    }

    #[test]
    fn kubeconfigs_are_written_private_and_replace_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out/ada.kubeconfig");
        write_kubeconfig(&p, "first").unwrap();
        write_kubeconfig(&p, "second").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "second");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "only the owner may read a token");
        }
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file left behind: {names:?}");
    }
}
