//! API figures on a cluster holding thousands of pods: what the pods cost in memory, and how
//! long single-pod GETs and namespace and cluster-wide LISTs take over HTTPS through the same
//! `kube` client the app uses (client-side decoding included, as the app pays it too).
//! The scheduler and kubelet are off: the figures are the store's and the API server's.

use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;
use kq_sim::{Cluster, ClusterConfig};
use kube::api::{Api, ListParams};

use super::{Figure, Op, Sizes, kube_client, median, ms, percentile, progress, rss_bytes, scratch};

/// The figures this group produces, for `--only`.
pub const FIGURES: &[&str] = &[
    "cluster.rss_mb_5000_pods",
    "api.get_p50_ms",
    "api.get_p99_ms",
    "api.list_p50_ms",
    "api.list_p99_ms",
    "api.list_all_p50_ms",
];

const MB: f64 = 1024.0 * 1024.0;

/// Seed the pods (measuring resident memory around it: the figure is what 5,000 pods add to
/// the empty cluster's size), then time GETs and LISTs.
pub async fn figures(sizes: &Sizes) -> Result<Vec<Figure>, String> {
    let dir = scratch()?;
    let cluster = Cluster::start(ClusterConfig {
        kubeconfig_path: Some(dir.path().join("kubeconfig")),
        // The store and the API alone: one default node cannot run thousands of pods, and the
        // scheduler's reaction to that (status writes, events) is not what is measured here.
        controllers: false,
        // Only the seeded pods: the LIST figures count them.
        kube_system: false,
        ..Default::default()
    })
    .await
    .map_err(|e| format!("the embedded cluster does not start: {e}"))?;
    let store = cluster.store().clone();
    let (total, namespaces) = (sizes.pods, sizes.namespaces);

    progress(format!("seeding {total} pods in {namespaces} namespaces"));
    let before = rss_bytes()?;
    let t0 = Instant::now();
    let pods = tokio::task::spawn_blocking(move || super::pods::seed(&store, namespaces, total))
        .await
        .map_err(|e| format!("seeding panicked: {e}"))??;
    let seeded_in = t0.elapsed();
    let after = rss_bytes()?;
    let grown = after.saturating_sub(before) as f64 / MB;
    let mut out = vec![
        Figure::new(
            "cluster.rss_mb_5000_pods",
            grown,
            "MB",
            format!(
                "above the empty cluster: VmRSS {:.1} MB with {total} pods - {:.1} MB empty \
                 (the same cluster started, before seeding; {:.1} KB per pod; seeded in {:.2} s; \
                 controllers off)",
                after as f64 / MB,
                before as f64 / MB,
                grown * 1024.0 / total as f64,
                seeded_in.as_secs_f64()
            ),
        )
        .target(Op::AtMost, 100.0),
    ];

    let client = kube_client(&cluster).await?;
    // Warm the connection and both code paths before timing anything.
    let ns0 = super::pods::namespace(0);
    let one_ns: Api<Pod> = Api::namespaced(client.clone(), &ns0);
    let all: Api<Pod> = Api::all(client.clone());
    for (ns, name) in pods.iter().take(20) {
        let api: Api<Pod> = Api::namespaced(client.clone(), ns);
        api.get(name)
            .await
            .map_err(|e| format!("GET {ns}/{name}: {e}"))?;
    }
    one_ns
        .list(&ListParams::default())
        .await
        .map_err(|e| format!("LIST {ns0}: {e}"))?;

    progress(format!("timing {} single-pod GETs", sizes.gets));
    let mut gets = Vec::with_capacity(sizes.gets);
    // A fixed stride through the pods so every namespace and both ends of the map are hit.
    let stride = 7919 % pods.len().max(1);
    let mut at = 0usize;
    for _ in 0..sizes.gets {
        at = (at + stride) % pods.len();
        let (ns, name) = &pods[at];
        let api: Api<Pod> = Api::namespaced(client.clone(), ns);
        let t = Instant::now();
        let got = api
            .get(name)
            .await
            .map_err(|e| format!("GET {ns}/{name}: {e}"))?;
        gets.push(ms(t.elapsed()));
        if got.metadata.name.as_deref() != Some(name.as_str()) {
            return Err(format!("GET {ns}/{name} returned another pod"));
        }
    }

    let per_ns = total / namespaces;
    progress(format!("timing {} LISTs of {per_ns} pods", sizes.lists));
    let mut lists = Vec::with_capacity(sizes.lists);
    for _ in 0..sizes.lists {
        let t = Instant::now();
        let l = one_ns
            .list(&ListParams::default())
            .await
            .map_err(|e| format!("LIST {ns0}: {e}"))?;
        lists.push(ms(t.elapsed()));
        if l.items.len() != per_ns {
            return Err(format!(
                "LIST {ns0} returned {} pods, not {per_ns}",
                l.items.len()
            ));
        }
    }

    // The same LIST with the body left undecoded, so the report can tell the server's and
    // the transport's share from the client's decoding into `Pod`s.
    let mut raw_lists = Vec::with_capacity(sizes.lists);
    let raw = kube::core::Request::new(format!("/api/v1/namespaces/{ns0}/pods"));
    for _ in 0..sizes.lists {
        let req = raw
            .list(&ListParams::default())
            .map_err(|e| e.to_string())?;
        let t = Instant::now();
        client
            .request_text(req)
            .await
            .map_err(|e| format!("raw LIST {ns0}: {e}"))?;
        raw_lists.push(ms(t.elapsed()));
    }

    progress(format!(
        "timing {} LISTs of all {total} pods",
        sizes.list_alls
    ));
    let mut list_alls = Vec::with_capacity(sizes.list_alls);
    for _ in 0..sizes.list_alls {
        let t = Instant::now();
        let l = all
            .list(&ListParams::default())
            .await
            .map_err(|e| format!("LIST all pods: {e}"))?;
        list_alls.push(ms(t.elapsed()));
        if l.items.len() != total {
            return Err(format!(
                "LIST all returned {} pods, not {total}",
                l.items.len()
            ));
        }
    }
    drop(client);
    cluster.shutdown().await;

    let get_of = format!("{} GETs of one pod among {total}", sizes.gets);
    let list_of = format!(
        "{} LISTs of one namespace ({per_ns} of {total} pods)",
        sizes.lists
    );
    out.extend([
        Figure::new(
            "api.get_p50_ms",
            percentile(&gets, 50.0),
            "ms",
            format!("p50 of {get_of}"),
        ),
        Figure::new(
            "api.get_p99_ms",
            percentile(&gets, 99.0),
            "ms",
            format!("p99 of {get_of} (max {:.2} ms)", percentile(&gets, 100.0)),
        )
        .target(Op::AtMost, 5.0),
        Figure::new(
            "api.list_p50_ms",
            percentile(&lists, 50.0),
            "ms",
            format!(
                "p50 of {list_of}; the body alone, undecoded: p50 {:.1} ms",
                percentile(&raw_lists, 50.0)
            ),
        ),
        Figure::new(
            "api.list_p99_ms",
            percentile(&lists, 99.0),
            "ms",
            format!(
                "p99 of {list_of} (max {:.2} ms); the body alone, undecoded: p99 {:.1} ms",
                percentile(&lists, 100.0),
                percentile(&raw_lists, 99.0)
            ),
        )
        .target(Op::AtMost, 50.0),
        Figure::new(
            "api.list_all_p50_ms",
            median(&list_alls),
            "ms",
            format!(
                "median of {} LISTs of all {total} pods across {namespaces} namespaces \
                 (p99 {:.1} ms)",
                sizes.list_alls,
                percentile(&list_alls, 99.0)
            ),
        ),
    ]);
    Ok(out)
}
