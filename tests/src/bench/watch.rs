//! Watch fan-out: many concurrent `watch=true` streams on pods while pods are created and
//! updated as fast as the store takes them.
//!
//! Each round opens every stream from the same resourceVersion, then one writer creates and
//! relabels pods in-process for a fixed number of changes. The figure is every event delivered
//! to every watcher, divided by the time from the first write to the last delivery; the median
//! round is reported. Watchers decode each event into a `Pod`, as the app's watchers do, and
//! share the machine's cores with the server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kq_sim::{Cluster, ClusterConfig};
use kube::api::{Api, WatchEvent, WatchParams};
use tokio::sync::Barrier;

use super::{Figure, Op, Sizes, kube_client, median, progress, scratch};

/// How long one round may take before it is declared stuck.
const ROUND_LIMIT: Duration = Duration::from_secs(120);

/// One round's outcome.
struct Round {
    events: u64,
    seconds: f64,
    write_seconds: f64,
    /// Watches the server ended because their client fell behind, each watched again.
    rewatches: u32,
}

/// `watch.events_per_s_100_watchers`.
pub async fn events_per_second(sizes: &Sizes) -> Result<Figure, String> {
    let dir = scratch()?;
    let cluster = Cluster::start(ClusterConfig {
        kubeconfig_path: Some(dir.path().join("kubeconfig")),
        // Keep every change of the run, so a watcher that falls behind the live channel
        // catches up from history instead of being expired mid-measurement.
        history_limit: sizes.changes * sizes.watch_rounds + 1000,
        // Only the writer's changes: no scheduler or kubelet adding status updates of their own.
        controllers: false,
        ..Default::default()
    })
    .await
    .map_err(|e| format!("the embedded cluster does not start: {e}"))?;
    super::pods::seed(cluster.store(), 1, 0)?;
    let client = kube_client(&cluster).await?;

    let mut rounds = Vec::new();
    for r in 0..sizes.watch_rounds {
        let round = round(&cluster, &client, sizes, r).await?;
        progress(format!(
            "watch round {}: {} events in {:.3} s ({:.0}/s; writes took {:.3} s; {} watches \
             ended for falling behind and watched again)",
            r + 1,
            round.events,
            round.seconds,
            round.events as f64 / round.seconds,
            round.write_seconds,
            round.rewatches
        ));
        rounds.push(round);
    }
    let decode_us = client_decode_micros(&cluster)?;
    drop(client);
    cluster.shutdown().await;

    let rates: Vec<f64> = rounds.iter().map(|r| r.events as f64 / r.seconds).collect();
    let value = median(&rates);
    let mid = rounds
        .iter()
        .min_by(|a, b| {
            let d = |r: &Round| (r.events as f64 / r.seconds - value).abs();
            d(a).total_cmp(&d(b))
        })
        .ok_or("no watch rounds ran")?;
    Ok(Figure::new(
        "watch.events_per_s_100_watchers",
        value,
        "events/s",
        format!(
            "{} events ({} watchers x {} changes) / {:.3} s first write to last delivery \
             (median of {} rounds; writes alone {:.3} s; {} watches ended by the server for \
             falling behind its dispatch budget and watched again from their last version; the \
             watchers' decoding into Pods costs {decode_us:.1} us per event, {:.2} s of CPU \
             for the round)",
            mid.events,
            sizes.watchers,
            sizes.changes,
            mid.seconds,
            sizes.watch_rounds,
            mid.write_seconds,
            mid.rewatches,
            decode_us * mid.events as f64 / 1e6
        ),
    )
    .target(Op::AtLeast, 50_000.0))
}

/// What decoding one watch event line into a `Pod` costs a watcher, in microseconds: the
/// client's share of the figure, since watchers and server share the cores.
fn client_decode_micros(cluster: &kq_sim::RunningCluster) -> Result<f64, String> {
    let pod = cluster
        .store()
        .list::<Pod>(Some(&super::pods::namespace(0)))
        .into_iter()
        .last()
        .ok_or("no watched pod left to decode")?;
    let line = serde_json::to_string(&serde_json::json!({"type": "MODIFIED", "object": pod}))
        .map_err(|e| e.to_string())?;
    const N: u32 = 2000;
    let t = Instant::now();
    for _ in 0..N {
        let ev: WatchEvent<Pod> = serde_json::from_str(&line).map_err(|e| e.to_string())?;
        std::hint::black_box(ev);
    }
    Ok(t.elapsed().as_secs_f64() * 1e6 / f64::from(N))
}

async fn round(
    cluster: &kq_sim::RunningCluster,
    client: &kube::Client,
    sizes: &Sizes,
    r: usize,
) -> Result<Round, String> {
    let store = cluster.store().clone();
    let from = store.resource_version().to_string();
    let expected = sizes.changes as u64;
    let ready = Arc::new(Barrier::new(sizes.watchers + 1));
    let mut watchers = Vec::with_capacity(sizes.watchers);
    for w in 0..sizes.watchers {
        let api: Api<Pod> = Api::all(client.clone());
        let from = from.clone();
        let ready = ready.clone();
        watchers.push(tokio::spawn(async move {
            let opened = api.watch(&WatchParams::default(), &from).await;
            ready.wait().await;
            let mut stream = Box::pin(opened.map_err(|e| format!("watcher {w} cannot open: {e}"))?);
            let (mut seen, mut last, mut rv, mut rewatches) = (0u64, None, from, 0u32);
            while seen < expected {
                match stream.next().await {
                    Some(Ok(WatchEvent::Added(p) | WatchEvent::Modified(p))) => {
                        seen += 1;
                        last = Some(Instant::now());
                        rv = p.metadata.resource_version.unwrap_or(rv);
                    }
                    Some(Ok(WatchEvent::Deleted(_) | WatchEvent::Bookmark(_))) => {}
                    Some(Ok(WatchEvent::Error(e))) => {
                        return Err(format!("watcher {w} got an error event after {seen}: {e}"));
                    }
                    Some(Err(e)) => return Err(format!("watcher {w} broke after {seen}: {e}")),
                    // The server ends a watch whose client falls behind for its dispatch
                    // budget, as kube-apiserver's watch cache does; a client then watches
                    // again from the last version it saw (kube-runtime's watcher does), and
                    // so does this one. What it missed comes from the history.
                    None => {
                        rewatches += 1;
                        let again = api.watch(&WatchParams::default(), &rv).await.map_err(|e| {
                            format!("watcher {w} cannot watch again from {rv}: {e}")
                        })?;
                        stream = Box::pin(again);
                    }
                }
            }
            Ok::<_, String>((seen, last, rewatches))
        }));
    }
    ready.wait().await;

    // Half creates, half updates of the pods just created.
    let creates = sizes.changes.div_ceil(2);
    let updates = sizes.changes - creates;
    let ns = super::pods::namespace(0);
    let t0 = Instant::now();
    let writer = tokio::task::spawn_blocking(move || -> Result<Duration, String> {
        let name = |i: usize| format!("watch-{r}-{i:05}");
        for i in 0..creates {
            store
                .create_typed(&ns, &super::pods::pod(&name(i), "watched"))
                .map_err(|e| format!("cannot create {}: {e}", name(i)))?;
        }
        for i in 0..updates {
            store
                .update_with::<Pod>(&ns, &name(i), |p| {
                    p.metadata
                        .labels
                        .get_or_insert_default()
                        .insert("revision".into(), "2".into());
                })
                .map_err(|e| format!("cannot update {}: {e}", name(i)))?;
        }
        Ok(t0.elapsed())
    });

    let written = writer
        .await
        .map_err(|e| format!("the writer panicked: {e}"))
        .and_then(|w| w);
    let write_seconds = match written {
        Ok(took) => took.as_secs_f64(),
        Err(e) => {
            watchers.iter().for_each(|w| w.abort());
            return Err(e);
        }
    };
    let aborts: Vec<_> = watchers.iter().map(|w| w.abort_handle()).collect();
    let results = tokio::time::timeout(ROUND_LIMIT, futures::future::join_all(watchers))
        .await
        .map_err(|_| {
            aborts.iter().for_each(|a| a.abort());
            format!("watch round {r} did not finish in {ROUND_LIMIT:?}")
        })?;
    let (mut events, mut end, mut rewatches) = (0u64, t0, 0u32);
    for res in results {
        let (seen, last, again) = res.map_err(|e| format!("a watcher panicked: {e}"))??;
        events += seen;
        rewatches += again;
        if let Some(last) = last {
            end = end.max(last);
        }
    }
    Ok(Round {
        events,
        seconds: end.duration_since(t0).as_secs_f64().max(1e-9),
        write_seconds,
        rewatches,
    })
}
